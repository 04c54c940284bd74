import { assertEquals } from "@std/assert";
import { applyMask } from "../../src/protocol/mask.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

function maskedByteByByte(bytes: Uint8Array, offset: number): Uint8Array {
  return bytes.map((byte, i) => byte ^ MASK[(offset + i) & 3]);
}

Deno.test("mask: XORs RFC 6455 §5.7's masked Hello back to text", () => {
  const payload = new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  applyMask(payload, MASK);
  assertEquals(new TextDecoder().decode(payload), "Hello");
});

Deno.test("mask: matches the byte-by-byte definition at every alignment, length and key offset", () => {
  const backing = Uint8Array.from({ length: 150 }, (_, i) => (i * 13 + 5) & 0xff);
  for (let start = 0; start < 4; start++) {
    for (let length = 0; length <= 140; length++) {
      for (let offset = 0; offset < 4; offset++) {
        const bytes = backing.slice().subarray(start, start + length);
        const expected = maskedByteByByte(bytes, offset);
        applyMask(bytes, MASK, offset);
        assertEquals(bytes, expected, `start ${start}, length ${length}, offset ${offset}`);
      }
    }
  }
});

Deno.test("mask: masking twice restores the payload", () => {
  const original = Uint8Array.from({ length: 4099 }, (_, i) => i & 0xff);
  const bytes = original.slice();
  applyMask(bytes, MASK, 3);
  applyMask(bytes, MASK, 3);
  assertEquals(bytes, original);
});
