/**
 * Byte array helpers shared by the core and the I/O layer.
 *
 * @module
 */

/**
 * Joins byte arrays into one, made by `allocate`; a single part is returned as it is, without a
 * copy.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { concatBytes } from "./bytes.ts";
 * assertEquals(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = allocate(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
