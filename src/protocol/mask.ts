/**
 * Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, repeated.
 *
 * @module
 */

/**
 * XORs `bytes` in place with `mask`, starting at position `offset` of the key (for a payload
 * that arrives in pieces). Works four bytes at a time where the view is 4-byte aligned.
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
  // Bytes up to the next aligned address, one at a time.
  while (i < length && ((bytes.byteOffset + i) & 3) !== 0) {
    bytes[i] ^= mask[(offset + i) & 3];
    i++;
  }
  const words = (length - i) >>> 2;
  if (words > 0) {
    // The key rotated to the aligned start, read as one word in the platform's byte order.
    const k = (offset + i) & 3;
    const key = new Uint32Array(
      new Uint8Array([mask[k], mask[(k + 1) & 3], mask[(k + 2) & 3], mask[(k + 3) & 3]]).buffer,
    )[0];
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= key;
    i += words << 2;
  }
  for (; i < length; i++) bytes[i] ^= mask[(offset + i) & 3];
}
