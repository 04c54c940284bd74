/**
 * Builds client frames byte by byte, independently of the encoder under test, and able to break
 * every rule (reserved bits, opcodes, lengths, masking) for the tests that need broken frames.
 */

/** The fixed masking key of RFC 6455 §5.7's examples. */
export const FIXED_MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

export interface TestFrameOptions {
  fin?: boolean;
  /** RSV bits as a number 0–7 (RSV1 = 4). */
  rsv?: number;
  /** The masking key, or null for an unmasked frame. */
  mask?: Uint8Array | null;
  /** Forces the 7-bit length field (126 or 127) even when a shorter encoding would do. */
  lengthField?: 126 | 127;
  /** Claims a 64-bit length that differs from the payload's real length. */
  declaredLength?: bigint;
}

const encoder = new TextEncoder();

/** Bytes of a payload given as text or bytes. */
export function bytesOf(payload: string | Uint8Array | number[]): Uint8Array {
  if (typeof payload === "string") return encoder.encode(payload);
  return payload instanceof Uint8Array ? payload : new Uint8Array(payload);
}

/** One frame's bytes. Masked with {@linkcode FIXED_MASK} unless told otherwise. */
export function frame(
  opcode: number,
  payload: string | Uint8Array | number[] = new Uint8Array(),
  options: TestFrameOptions = {},
): Uint8Array {
  const data = bytesOf(payload);
  const { fin = true, rsv = 0, mask = FIXED_MASK } = options;
  const length = options.declaredLength ?? BigInt(data.length);
  const field = options.lengthField ??
    (length < 126n ? Number(length) : length < 65536n ? 126 : 127);
  const extended = field === 126 ? 2 : field === 127 ? 8 : 0;
  const header = new Uint8Array(2 + extended + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (mask ? 0x80 : 0) | field;
  const view = new DataView(header.buffer);
  if (field === 126) view.setUint16(2, Number(length));
  if (field === 127) view.setBigUint64(2, length);
  const body = data.slice();
  if (mask) {
    header.set(mask, 2 + extended);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  }
  return concat(header, body);
}

/** Joins byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason: string | Uint8Array = ""): Uint8Array {
  const reasonBytes = bytesOf(reason);
  return concat(new Uint8Array([code >> 8, code & 0xff]), reasonBytes);
}

/** Every way to cut `bytes` into two pieces, the empty cuts included. */
export function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let cut = 0; cut <= bytes.length; cut++) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
}

/** `bytes` one byte per piece. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (byte) => new Uint8Array([byte]));
}

/**
 * A message's frames: the first with `opcode`, the rest continuations, FIN on the last only. One
 * part gives one unfragmented frame.
 */
export function fragments(
  opcode: number,
  parts: (string | Uint8Array | number[])[],
  options: Omit<TestFrameOptions, "fin"> = {},
): Uint8Array[] {
  return parts.map((part, i) =>
    frame(i === 0 ? opcode : 0, part, { ...options, fin: i === parts.length - 1 })
  );
}

/** `bytes` in pieces of `size` bytes, the last one shorter if need be. */
export function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    pieces.push(bytes.subarray(offset, offset + size));
  }
  return pieces;
}

/** `length` bytes of a pattern that repeats only every 65536 bytes, so a misplaced byte shows. */
export function patterned(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = i * 7 + (i >> 8);
  return bytes;
}

/** `length` letters, a to z over and over. */
export function letters(length: number): string {
  return Array.from({ length }, (_, i) => String.fromCharCode(0x61 + i % 26)).join("");
}

/** Codes a close frame may carry (RFC 6455 §7.4.1, the IANA registry, §7.4.2's private range). */
export const VALID_CLOSE_CODES = [
  1000,
  1001,
  1002,
  1003,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
  3000,
  3999,
  4000,
  4999,
];

/** Codes that must never be on the wire: unassigned, reserved for local use, or out of range. */
export const INVALID_CLOSE_CODES = [
  0,
  999,
  1004,
  1005,
  1006,
  1015,
  1016,
  1100,
  2000,
  2999,
  5000,
  65535,
];
