import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { decodeUtf8, Utf8StreamDecoder } from "../../src/protocol/utf8.ts";

const VALID = "κόσμε, hello, 世界, 🎉, \u{10FFFF}, \uFEFF kept";
const INVALID: [string, number[]][] = [
  ["a lone continuation byte", [0x80]],
  ["an overlong slash", [0xc0, 0xaf]],
  ["an overlong NUL in three bytes", [0xe0, 0x80, 0x80]],
  ["a UTF-16 surrogate", [0xed, 0xa0, 0x80]],
  ["a code point over U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ["the byte 0xFF", [0xff]],
  ["a truncated sequence at the end", [0x61, 0xe2, 0x82]],
];

function expect1007(run: () => unknown): void {
  const error = assertThrows(run);
  assertInstanceOf(error, ProtocolError);
  assertEquals(error.closeCode, 1007);
}

Deno.test("utf8: decodes valid text, a leading BOM kept", () => {
  assertEquals(decodeUtf8(new TextEncoder().encode("\uFEFF" + VALID)), "\uFEFF" + VALID);
});

for (const [name, bytes] of INVALID) {
  Deno.test(`utf8: rejects ${name} with 1007`, () => {
    expect1007(() => decodeUtf8(new Uint8Array(bytes)));
    const decoder = new Utf8StreamDecoder();
    expect1007(() => decoder.push(new Uint8Array(bytes)) + decoder.end());
  });
}

Deno.test("utf8: the stream decoder joins text split at every byte", () => {
  const bytes = new TextEncoder().encode(VALID);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new Utf8StreamDecoder();
    const text = decoder.push(bytes.subarray(0, cut)) + decoder.push(bytes.subarray(cut)) +
      decoder.end();
    assertEquals(text, VALID);
  }
});

Deno.test("utf8: the stream decoder fails at the first impossible byte, before the end", () => {
  // Each piece ends right after a byte that no continuation can make valid.
  for (const prefix of [[0xf4, 0x90], [0xe0, 0x80], [0xed, 0xa0], [0xc0], [0x61, 0x80]]) {
    const decoder = new Utf8StreamDecoder();
    expect1007(() => decoder.push(new Uint8Array(prefix)));
  }
});

Deno.test("utf8: the stream decoder is ready for the next text after end()", () => {
  const decoder = new Utf8StreamDecoder();
  assertEquals(decoder.push(new Uint8Array([0x61, 0xe2])), "a");
  expect1007(() => decoder.end());
  assertEquals(decoder.push(new Uint8Array([0x62])) + decoder.end(), "b");
});

Deno.test("utf8: short and long texts decode alike, ASCII or not", () => {
  for (const length of [0, 1, 63, 64, 65, 200]) {
    for (const text of ["a".repeat(length), "é".repeat(length), "a".repeat(length) + "\x7f"]) {
      assertEquals(decodeUtf8(new TextEncoder().encode(text)), text);
    }
  }
  expect1007(() => decodeUtf8(new Uint8Array([0x61, 0x62, 0xff])));
});
