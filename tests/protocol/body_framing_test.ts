import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  type BodyFraming,
  parseContentLength,
  requestBodyFraming,
} from "../../src/protocol/body_framing.ts";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { parseRequestHead, type RequestHead } from "../../src/protocol/http1.ts";

const encoder = new TextEncoder();

/** A POST head with `fields` as its field lines, parsed as a server parses it. */
function head(fields: string[], version = "HTTP/1.1"): RequestHead {
  const lines = [`POST /upload ${version}`, "Host: a", ...fields];
  return parseRequestHead(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
}

const FRAMED: [string[], BodyFraming][] = [
  [[], { kind: "none" }],
  [["Content-Length: 0"], { kind: "length", length: 0 }],
  [["Content-Length: 5"], { kind: "length", length: 5 }],
  [["Content-Length:   5 \t"], { kind: "length", length: 5 }],
  [["Content-Length: 007"], { kind: "length", length: 7 }],
  [["Content-Length: 5, 5"], { kind: "length", length: 5 }],
  [["Content-Length: 5", "Content-Length: 5"], { kind: "length", length: 5 }],
  [["Content-Length: 9007199254740991"], { kind: "length", length: Number.MAX_SAFE_INTEGER }],
  [["Transfer-Encoding: chunked"], { kind: "chunked" }],
  [["Transfer-Encoding: Chunked"], { kind: "chunked" }],
  [["Transfer-Encoding: , chunked,"], { kind: "chunked" }],
];

for (const [fields, framing] of FRAMED) {
  Deno.test(`body framing: ${JSON.stringify(fields)} frames the body as ${JSON.stringify(framing)}`, () => {
    assertEquals(requestBodyFraming(head(fields), { maxBodyBytes: Infinity }), framing);
  });
}

Deno.test("body framing: an HTTP/1.0 request is framed by Content-Length or has no body", () => {
  assertEquals(requestBodyFraming(head([], "HTTP/1.0")), { kind: "none" });
  assertEquals(requestBodyFraming(head(["Content-Length: 3"], "HTTP/1.0")), {
    kind: "length",
    length: 3,
  });
});

// Each case is a head that some parser in a chain could frame differently, or cannot frame at
// all; each with the exact status and message it is refused with.
const AMBIGUOUS = "ambiguous or malformed body framing: ";
const REFUSED: [string[], number, string][] = [
  [
    ["Content-Length: 5", "Transfer-Encoding: chunked"],
    400,
    "both Content-Length and Transfer-Encoding",
  ],
  [
    ["Transfer-Encoding: chunked", "Content-Length: 0"],
    400,
    "both Content-Length and Transfer-Encoding",
  ],
  [["Content-Length: 5, 6"], 400, "malformed Content-Length"],
  [["Content-Length: 5", "Content-Length: 6"], 400, "malformed Content-Length"],
  [["Content-Length: 5", "Content-Length: 05"], 400, "malformed Content-Length"],
  [["Content-Length: 5,"], 400, "malformed Content-Length"],
  [["Content-Length: "], 400, "malformed Content-Length"],
  [["Content-Length: +5"], 400, "malformed Content-Length"],
  [["Content-Length: -5"], 400, "malformed Content-Length"],
  [["Content-Length: 0x5"], 400, "malformed Content-Length"],
  [["Content-Length: 5.0"], 400, "malformed Content-Length"],
  [["Content-Length: 1e3"], 400, "malformed Content-Length"],
  [["Content-Length: 5 5"], 400, "malformed Content-Length"],
  [["Content-Length: ５"], 400, "malformed Content-Length"],
  [["Content-Length: 9007199254740992"], 400, "malformed Content-Length"],
  [["Content-Length: 99999999999999999999999"], 400, "malformed Content-Length"],
  [["Transfer-Encoding: gzip"], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: chunked, gzip"], 400, "Transfer-Encoding does not end with chunked"],
  [
    ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
    400,
    "Transfer-Encoding does not end with chunked",
  ],
  [["Transfer-Encoding: identity"], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: "], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: chunked;q=1"], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: xchunked"], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: chunked chunked"], 400, "Transfer-Encoding does not end with chunked"],
  [['Transfer-Encoding: "chunked"'], 400, "Transfer-Encoding does not end with chunked"],
  [["Transfer-Encoding: chunked, chunked"], 400, "chunked applied twice"],
  [["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], 400, "chunked applied twice"],
  [["Transfer-Encoding: chunked ; a=b, chunked"], 400, "chunked applied twice"],
  [["Transfer-Encoding: g(zip, chunked"], 400, "malformed Transfer-Encoding"],
];

for (const [fields, status, message] of REFUSED) {
  Deno.test(`body framing: answers ${JSON.stringify(fields)} with ${status}`, () => {
    const error = assertThrows(() => requestBodyFraming(head(fields)));
    assertInstanceOf(error, HandshakeError);
    assertEquals([error.status, error.message], [status, AMBIGUOUS + message]);
  });
}

Deno.test("body framing: answers Transfer-Encoding in an HTTP/1.0 request with 400, Content-Length or not", () => {
  for (
    const fields of [["Transfer-Encoding: chunked"], [
      "Transfer-Encoding: chunked",
      "Content-Length: 5",
    ]]
  ) {
    const error = assertThrows(() => requestBodyFraming(head(fields, "HTTP/1.0")));
    assertInstanceOf(error, HandshakeError);
    assertEquals([error.status, error.message], [
      400,
      AMBIGUOUS + "Transfer-Encoding in an HTTP/1.0 request",
    ]);
  }
});

Deno.test("body framing: answers a coding before chunked that it does not decode with 501", () => {
  for (const value of ["gzip, chunked", "GZIP ;level=1 , chunked", "br, gzip, chunked"]) {
    const error = assertThrows(() => requestBodyFraming(head([`Transfer-Encoding: ${value}`])));
    assertInstanceOf(error, HandshakeError);
    assertEquals(error.status, 501);
  }
  const error = assertThrows(() => requestBodyFraming(head(["Transfer-Encoding: gzip, chunked"])));
  assertEquals((error as Error).message, 'unsupported transfer coding "gzip"');
});

Deno.test("body framing: a Content-Length over maxBodyBytes is 413, at it is fine", () => {
  assertEquals(requestBodyFraming(head(["Content-Length: 100"]), { maxBodyBytes: 100 }), {
    kind: "length",
    length: 100,
  });
  const error = assertThrows(() =>
    requestBodyFraming(head(["Content-Length: 101"]), { maxBodyBytes: 100 })
  );
  assertInstanceOf(error, HandshakeError);
  assertEquals([error.status, error.message], [413, "the body is larger than 100 bytes"]);
  // The default is 64 MiB.
  const framing = requestBodyFraming(head([`Content-Length: ${64 * 1024 * 1024}`]));
  assertEquals(framing, { kind: "length", length: 64 * 1024 * 1024 });
  const over = assertThrows(() =>
    requestBodyFraming(head([`Content-Length: ${64 * 1024 * 1024 + 1}`]))
  );
  assertEquals((over as HandshakeError).status, 413);
});

Deno.test("body framing: parseContentLength reads digits and identical repeats, nothing else", () => {
  assertEquals(
    ["0", "12", " 12 ", "12,12", "12 , 12, 12", "00"].map(parseContentLength),
    [0, 12, 12, 12, 12, 0],
  );
  assertEquals(
    ["", " ", "a", "1a", "12,13", ",12", "12,", "١٢", "9007199254740992"].map(parseContentLength),
    [null, null, null, null, null, null, null, null, null],
  );
});
