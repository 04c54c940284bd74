import { assert, assertEquals } from "@std/assert";
import { encodeFrame, Opcode } from "../../src/protocol/frame.ts";
import { FrameArena, isAdjacent } from "../../src/protocol/frame_arena.ts";

Deno.test("frame arena: frames made in a row are the frames encodeFrame makes, side by side in one buffer", () => {
  const arena = new FrameArena();
  const payloads = [0, 1, 125, 126, 1000].map((length) =>
    new Uint8Array(length).fill(length & 0xff)
  );
  const frames = payloads.map((payload) => arena.encode(Opcode.Binary, payload));
  assertEquals(frames, payloads.map((payload) => encodeFrame(Opcode.Binary, payload)));
  for (let i = 1; i < frames.length; i++) {
    assert(isAdjacent(frames[i - 1], frames[i]), `frame ${i}`);
  }
});

Deno.test("frame arena: a full buffer is followed by a new one, and a large frame gets its own", () => {
  const arena = new FrameArena();
  const payload = new Uint8Array(10_000).fill(3);
  const frames = Array.from({ length: 7 }, () => arena.encode(Opcode.Binary, payload, { rsv: 4 }));
  // 64 KiB holds six frames of 10,004 bytes: the seventh starts another buffer.
  assertEquals(frames.map((frame, i) => i > 0 && isAdjacent(frames[i - 1], frame)), [
    false,
    true,
    true,
    true,
    true,
    true,
    false,
  ]);
  for (const frame of frames) assertEquals(frame, encodeFrame(Opcode.Binary, payload, { rsv: 4 }));
  const large = arena.encode(Opcode.Binary, new Uint8Array(20_000));
  assertEquals([large.byteOffset, large.buffer.byteLength], [0, 20_004]);
  const after = arena.encode(Opcode.Text, new Uint8Array([0x61]));
  assert(isAdjacent(frames[6], after), "the shared buffer goes on after a large frame");
});
