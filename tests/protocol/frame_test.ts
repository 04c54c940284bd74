import { assertEquals } from "@std/assert";
import {
  encodeFrame,
  encodeFrameParts,
  encodeTextFrame,
  type FrameSink,
  isControlOpcode,
  Opcode,
  RSV1,
  writeFrame,
  writeTextFrame,
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
  for (const length of [0, 5, 41, 42, 63, 64, 65, 125, 126, 21845, 21846, 65535, 65536, 70000]) {
    // "é" is two bytes: lengths cross the length-field boundaries in both units. Short ASCII is
    // copied in by hand: one character past ASCII at its end takes the other way.
    for (
      const text of [
        "a".repeat(length),
        "é".repeat(length >> 1) + "€😀",
        "a".repeat(length) + "\x80",
      ]
    ) {
      assertEquals(encodeTextFrame(text), frame(Opcode.Text, text, { mask: null }));
      assertEquals(encodeTextFrame(text, { mask: FIXED_MASK }), frame(Opcode.Text, text));
    }
  }
});

Deno.test("frame: writes frames one after the other into a sink's buffer, at any offset, like the reference builder", () => {
  const buffer = new Uint8Array(400_000);
  let used = 3;
  const sink: FrameSink = {
    bytes: buffer,
    reserve(length) {
      used += length;
      return used - length;
    },
  };
  const expected: Uint8Array[] = [new Uint8Array(3)];
  for (const length of [0, 125, 126, 65535, 65536]) {
    const payload = new Uint8Array(length).fill(7);
    writeFrame(sink, Opcode.Binary, payload, { mask: FIXED_MASK });
    expected.push(frame(Opcode.Binary, payload));
    writeFrame(sink, Opcode.Binary, payload, { fin: false });
    expected.push(frame(Opcode.Binary, payload, { fin: false, mask: null }));
    const text = "é".repeat(length >> 2);
    writeTextFrame(sink, text);
    expected.push(frame(Opcode.Text, text, { mask: null }));
    writeTextFrame(sink, "Hi", { mask: FIXED_MASK });
    expected.push(frame(Opcode.Text, "Hi"));
  }
  assertEquals(buffer.subarray(0, used), concat(...expected));
});
