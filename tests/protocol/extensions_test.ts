import { assertEquals, assertThrows } from "@std/assert";
import {
  type ExtensionHeader,
  formatExtension,
  parseExtensions,
} from "../../src/protocol/extensions.ts";

const deflate = (...params: ExtensionHeader["params"]): ExtensionHeader => ({
  name: "permessage-deflate",
  params,
});

const VALID: [header: string, extensions: ExtensionHeader[]][] = [
  ["permessage-deflate", [deflate()]],
  ["permessage-deflate; client_max_window_bits", [deflate(["client_max_window_bits", true])]],
  [
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    [deflate(["server_max_window_bits", "12"], ["client_max_window_bits", "12"])],
  ],
  [
    "permessage-deflate; client_max_window_bits=10, permessage-deflate, x-webkit-deflate-frame",
    [deflate(["client_max_window_bits", "10"]), deflate(), {
      name: "x-webkit-deflate-frame",
      params: [],
    }],
  ],
  [
    'permessage-deflate; server_max_window_bits="10"; a="b\\c"',
    [deflate(["server_max_window_bits", "10"], ["a", "bc"])],
  ],
  [
    " \tpermessage-deflate \t;\t client_max_window_bits \t= \t9 \t, \tfoo ",
    [deflate(["client_max_window_bits", "9"]), { name: "foo", params: [] }],
  ],
  ["a, , b", [{ name: "a", params: [] }, { name: "b", params: [] }]],
  [",a,,", [{ name: "a", params: [] }]],
  [
    "Permessage-Deflate; Client_Max_Window_Bits=Ab; x=1; x",
    [{
      name: "Permessage-Deflate",
      params: [["Client_Max_Window_Bits", "Ab"], ["x", "1"], ["x", true]],
    }],
  ],
  ["a;b;c=d", [{ name: "a", params: [["b", true], ["c", "d"]] }]],
  ["!#$%&'*+-.^_`|~09azAZ", [{ name: "!#$%&'*+-.^_`|~09azAZ", params: [] }]],
];

for (const [header, extensions] of VALID) {
  Deno.test(`extensions: reads ${JSON.stringify(header)}`, () => {
    assertEquals(parseExtensions(header), extensions);
  });
}

Deno.test("extensions: an empty value or one of only empty elements gives no extension", () => {
  for (const header of ["", " , ,\t", ","]) assertEquals(parseExtensions(header), [], header);
});

const MALFORMED: [header: string, message: string][] = [
  ["permessage-deflate; =1", 'expected a parameter name at index 20, found "="'],
  ["permessage-deflate;", "expected a parameter name at index 19, found the end"],
  ["permessage-deflate; ", "expected a parameter name at index 20, found the end"],
  ["permessage-deflate; a; ", "expected a parameter name at index 23, found the end"],
  ["permessage-deflate; a=", "expected a value at index 22, found the end"],
  ["permessage-deflate; a= ;b", 'expected a value at index 23, found ";"'],
  ["permessage-deflate; a=1=2", 'expected ";" or "," at index 23, found "="'],
  ["permessage-deflate; a=b/c", 'expected ";" or "," at index 23, found "/"'],
  ["permessage-deflate; a b", 'expected ";" or "," at index 22, found "b"'],
  ['permessage-deflate; a="10', "the quoted value at index 22 is unterminated"],
  ['permessage-deflate; a="10\\"', "the quoted value at index 22 is unterminated"],
  ['permessage-deflate; a="10\\', "the quoted value at index 22 is unterminated"],
  [
    'permessage-deflate; a="1 0"',
    'the quoted value at index 22 is not a token once unescaped: "1 0"',
  ],
  ['permessage-deflate; a=""', 'the quoted value at index 22 is not a token once unescaped: ""'],
  ['x; a="\\"\\x"', 'the quoted value at index 5 is not a token once unescaped: "\\"x"'],
  ['permessage-deflate; a="b"c', 'expected ";" or "," at index 25, found "c"'],
  ['"permessage-deflate"', 'expected an extension name at index 0, found "\\""'],
  ["; a", 'expected an extension name at index 0, found ";"'],
  ["a b", 'expected ";" or "," at index 2, found "b"'],
  ["a,;b", 'expected an extension name at index 2, found ";"'],
  ["a\r\n", 'expected ";" or "," at index 1, found "\\r"'],
  ["pérmessage-deflate", 'expected ";" or "," at index 1, found "é"'],
];

for (const [header, message] of MALFORMED) {
  Deno.test(`extensions: refuses ${JSON.stringify(header)} with SyntaxError`, () => {
    assertThrows(
      () => parseExtensions(header),
      SyntaxError,
      `Sec-WebSocket-Extensions: ${message}`,
    );
  });
}

Deno.test("extensions: writes an extension with its parameters joined by semicolons", () => {
  assertEquals(formatExtension(deflate()), "permessage-deflate");
  assertEquals(
    formatExtension(
      deflate(["server_no_context_takeover", true], ["client_max_window_bits", "10"]),
    ),
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
  );
});

Deno.test("extensions: what is written reads back the same", () => {
  for (const [, extensions] of VALID) {
    for (const extension of extensions) {
      assertEquals(parseExtensions(formatExtension(extension)), [extension]);
    }
  }
});

Deno.test("extensions: refuses to write a name or value that is not a token", () => {
  for (
    const extension of [
      { name: "a b", params: [] },
      { name: "x", params: [["a;b", true]] },
      { name: "x", params: [["a", "1, y"]] },
      { name: "x", params: [["a", ""]] },
    ] satisfies ExtensionHeader[]
  ) {
    assertThrows(() => formatExtension(extension), TypeError, undefined, extension.name);
  }
});
