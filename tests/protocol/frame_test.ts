import { assertEquals } from "@std/assert";
import {
  encodeFrame,
  encodeFrameParts,
  encodeTextFrame,
  isControlOpcode,
  Opcode,
  RSV1,
} from "../../src/protocol/frame.ts";
import { concat, FIXED_MASK, frame } from "../helpers/frames.ts";

const hello = new TextEncoder().encode("Hello");

Deno.test("frame: encodes RFC 6455 §5.7's unmasked and masked Hello", () => {
  assertEquals(
    encodeFrame(Opcode.Text, hello),
    new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
  );
  assertEquals(
    encodeFrame(Opcode.Text, hello, { mask: FIXED_MASK }),
    new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
  );
});

Deno.test("frame: encodes fragments, RSV1 and every length field size like the reference builder", () => {
  for (const length of [0, 125, 126, 65535, 65536]) {
    const payload = new Uint8Array(length).fill(7);
    for (const fin of [true, false]) {
      assertEquals(
        encodeFrame(Opcode.Binary, payload, { fin, rsv: RSV1, mask: FIXED_MASK }),
        frame(Opcode.Binary, payload, { fin, rsv: RSV1 }),
      );
      assertEquals(
        encodeFrame(Opcode.Binary, payload, { fin }),
        frame(Opcode.Binary, payload, { fin, mask: null }),
      );
    }
  }
});

Deno.test("frame: frames a payload as its header and the payload itself, uncopied, at every length field size", () => {
  for (const length of [0, 125, 126, 65535, 65536]) {
    const payload = new Uint8Array(length).fill(7);
    const [header, data] = encodeFrameParts(Opcode.Binary, payload);
    assertEquals(data === payload, true);
    assertEquals(concat(header, data), frame(Opcode.Binary, payload, { mask: null }));
    assertEquals(payload[0] ?? 7, 7);
  }
});

Deno.test("frame: leaves the caller's payload unmasked", () => {
  const payload = hello.slice();
  encodeFrame(Opcode.Text, payload, { mask: FIXED_MASK });
  assertEquals(payload, hello);
});

Deno.test("frame: close, ping and pong are the control opcodes", () => {
  const control = Object.values(Opcode).filter(isControlOpcode);
  assertEquals(control, [Opcode.Close, Opcode.Ping, Opcode.Pong]);
});

Deno.test("frame: encodes text straight from a string, like the reference builder, at every size", () => {
  for (const length of [0, 5, 41, 42, 125, 126, 21845, 21846, 65535, 65536, 70000]) {
    // "é" is two bytes: lengths cross the length-field boundaries in both units.
    for (const text of ["a".repeat(length), "é".repeat(length >> 1) + "€😀"]) {
      assertEquals(encodeTextFrame(text), frame(Opcode.Text, text, { mask: null }));
      assertEquals(encodeTextFrame(text, { mask: FIXED_MASK }), frame(Opcode.Text, text));
    }
  }
});
