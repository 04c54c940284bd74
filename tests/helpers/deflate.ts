/**
 * permessage-deflate payloads (RFC 7692 §7.2) made and read by `node:zlib` rather than the code
 * under test.
 */

import { constants, deflateRawSync, inflateRawSync, type ZlibOptions } from "node:zlib";
import type { DeflateCodecOptions } from "../../src/protocol/deflate.ts";
import { bytesOf, concat } from "./frames.ts";

/**
 * A codec's options with windows of 15 bits (what an end told nothing uses, RFC 7692 §7.1.2) kept
 * between messages both ways, zlib's default level and memory, and every message compressed.
 */
export const TAKEOVER_CODEC: DeflateCodecOptions = {
  deflateWindowBits: 15,
  inflateWindowBits: 15,
  deflateContextTakeover: true,
  inflateContextTakeover: true,
  level: 6,
  memLevel: 8,
  threshold: 0,
};

/** RFC 7692 §7.2.1: the tail of a sync flush, left off the wire. */
export const FLUSH_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * A payload compressed as RFC 7692 §7.2.1 says, on its own, without the flush's tail; `options`
 * for zlib (a level, say).
 */
export function compress(
  payload: string | Uint8Array | number[],
  options: ZlibOptions = {},
): Uint8Array {
  const deflated = deflateRawSync(bytesOf(payload), {
    ...options,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  // A plain copy: a Buffer's slice() is a view, and frame() masks its slice().
  return new Uint8Array(deflated.subarray(0, deflated.length - FLUSH_TAIL.length));
}

/** The messages of compressed payloads sent one after the other with context takeover. */
export function inflate(...payloads: Uint8Array[]): Uint8Array {
  const stream = concat(...payloads.flatMap((payload) => [payload, FLUSH_TAIL]));
  return inflateRawSync(stream, { finishFlush: constants.Z_SYNC_FLUSH });
}
