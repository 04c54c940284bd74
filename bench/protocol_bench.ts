/**
 * Microbenchmarks of the hot pieces: frame parsing (small and large frames), unmasking, and the
 * handshake's accept key. `deno task bench` runs them.
 */

import { computeAcceptKey } from "../src/protocol/handshake.ts";
import { encodeFrame, Opcode } from "../src/protocol/frame.ts";
import { applyMask } from "../src/protocol/mask.ts";
import { FrameParser } from "../src/protocol/parser.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** `count` masked frames of `size` bytes back to back, as one chunk. */
function frames(size: number, count: number): Uint8Array {
  const one = encodeFrame(Opcode.Binary, new Uint8Array(size).fill(0x61), {
    mask: MASK,
  });
  const bytes = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) bytes.set(one, i * one.length);
  return bytes;
}

const small = frames(16, 1024);
const large = frames(1024 * 1024, 1);
const onFrame = () => {};

Deno.bench("parse 1024 frames of 16 B in one chunk", { group: "parse" }, () => {
  new FrameParser({ role: "server" }).push(small.slice(), onFrame);
});

Deno.bench("parse one 1 MiB frame in 64 KiB chunks", { group: "parse" }, () => {
  const parser = new FrameParser({ role: "server" });
  const bytes = large.slice();
  for (let offset = 0; offset < bytes.length; offset += 65536) {
    parser.push(bytes.subarray(offset, offset + 65536), onFrame);
  }
});

const payload = new Uint8Array(1024 * 1024);
Deno.bench("unmask 1 MiB", { group: "mask" }, () => {
  applyMask(payload, MASK);
});

Deno.bench("compute Sec-WebSocket-Accept", { group: "handshake" }, async () => {
  await computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==");
});
