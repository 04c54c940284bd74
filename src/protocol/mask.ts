/**
 * Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, repeated.
 *
 * @module
 */

/** Below this many bytes, a byte loop beats setting up a word view. */
const WORDWISE_MIN_BYTES = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `bytes` in place with `mask`, starting at position `offset` of the key (for a payload
 * that arrives in pieces). Long payloads are done four bytes at a time from the first 4-byte
 * aligned address; nothing is allocated for short ones.
 *
 * @param bytes The payload, changed in place.
 * @param mask The 4-byte masking key.
 * @param offset How many payload bytes were unmasked before these.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { applyMask } from "./mask.ts";
 * // RFC 6455 §5.7: masked "Hello".
 * const payload = new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
 * applyMask(payload, new Uint8Array([0x37, 0xfa, 0x21, 0x3d]));
 * assertEquals(new TextDecoder().decode(payload), "Hello");
 * ```
 */
export function applyMask(bytes: Uint8Array, mask: Uint8Array, offset = 0): void {
  const length = bytes.length;
  let i = 0;
  if (length >= WORDWISE_MIN_BYTES) {
    // Bytes up to the next aligned address, one at a time.
    const lead = (4 - (bytes.byteOffset & 3)) & 3;
    for (; i < lead; i++) bytes[i] ^= mask[(offset + i) & 3];
    // The key rotated to start at the aligned byte, as one word in the platform's byte order.
    const k = offset + i;
    const b0 = mask[k & 3], b1 = mask[(k + 1) & 3], b2 = mask[(k + 2) & 3], b3 = mask[(k + 3) & 3];
    const key = LITTLE_ENDIAN
      ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
      : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
    const words = (length - i) >>> 2;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= key;
    i += words << 2;
  }
  for (; i < length; i++) bytes[i] ^= mask[(offset + i) & 3];
}
