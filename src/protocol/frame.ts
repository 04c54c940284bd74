/**
 * Frames (RFC 6455 §5.2): the opcodes, the decoded form, and the encoder.
 *
 * @module
 */

import { applyMask } from "./mask.ts";

/**
 * The opcodes of RFC 6455 §5.2; all others are reserved and fail the connection.
 *
 * @example
 * ```ts
 * import { Opcode } from "./frame.ts";
 * console.log(Opcode.Text); // 1
 * ```
 */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** One of the {@linkcode Opcode} values. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/** The RSV1 bit, as it sits in {@linkcode Frame.rsv} (claimed by permessage-deflate). */
export const RSV1 = 0b100;

/**
 * A decoded frame. The payload is unmasked.
 *
 * @example
 * ```ts
 * import { type Frame, Opcode } from "./frame.ts";
 * const frame: Frame = { fin: true, rsv: 0, opcode: Opcode.Text, payload: new TextEncoder().encode("Hi") };
 * ```
 */
export interface Frame {
  /** Whether this is the final fragment of its message. */
  fin: boolean;
  /** The three reserved bits RSV1..RSV3 as a number from 0 to 7 (RSV1 is 4). */
  rsv: number;
  /** What the frame is. */
  opcode: Opcode;
  /** The application data, unmasked. */
  payload: Uint8Array;
  /**
   * Whether `payload` is a view into the bytes the parser was given, valid only until their
   * memory is reused (a read buffer, say): whoever keeps it must copy it. A payload the parser
   * assembled from several chunks is its own buffer, and this is false. @default {false}
   */
  borrowed?: boolean;
}

/** Whether an opcode is a control opcode (close, ping, pong: RFC 6455 §5.5). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Options of {@linkcode encodeFrame}. */
export interface EncodeFrameOptions {
  /** Whether this is the final fragment. @default true */
  fin?: boolean;
  /** Reserved bits to set (RSV1 = 4). @default 0 */
  rsv?: number;
  /** The masking key; a client must mask every frame (RFC 6455 §5.3). @default no mask */
  mask?: Uint8Array;
}

/** The header's size for a payload of `length` bytes. */
function headerSize(length: number, masked: boolean): number {
  return 2 + (length < 126 ? 0 : length < 0x10000 ? 2 : 8) + (masked ? 4 : 0);
}

/**
 * Writes a header at the start of `bytes` for a payload of `length` bytes, the masking key
 * included, and returns where the payload starts.
 */
function writeHeader(
  bytes: Uint8Array,
  opcode: Opcode,
  length: number,
  options: EncodeFrameOptions,
): number {
  const { fin = true, rsv = 0, mask } = options;
  bytes[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = mask ? 0x80 : 0;
  let next = 2;
  if (length < 126) {
    bytes[1] = maskBit | length;
  } else if (length < 0x10000) {
    bytes[1] = maskBit | 126;
    bytes[2] = length >>> 8;
    bytes[3] = length & 0xff;
    next += 2;
  } else {
    bytes[1] = maskBit | 127;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(2, Math.floor(length / 0x1_0000_0000));
    view.setUint32(6, length >>> 0);
    next += 8;
  }
  if (!mask) return next;
  bytes.set(mask, next);
  return next + 4;
}

/**
 * Encodes only the header of an unmasked frame, for a payload written after it as it is: see
 * {@linkcode encodeFrameParts}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeFrameHeader, Opcode } from "./frame.ts";
 * assertEquals(encodeFrameHeader(Opcode.Binary, 256), new Uint8Array([0x82, 0x7e, 0x01, 0x00]));
 * ```
 */
export function encodeFrameHeader(
  opcode: Opcode,
  length: number,
  options: Omit<EncodeFrameOptions, "mask"> = {},
): Uint8Array {
  const bytes = new Uint8Array(headerSize(length, false));
  writeHeader(bytes, opcode, length, options);
  return bytes;
}

/**
 * Encodes one frame, header and payload in one buffer so it goes out in one write. Uses the
 * shortest length encoding (RFC 6455 §5.2).
 *
 * @example The unmasked "Hello" of RFC 6455 §5.7
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeFrame, Opcode } from "./frame.ts";
 * const bytes = encodeFrame(Opcode.Text, new TextEncoder().encode("Hello"));
 * assertEquals(bytes, new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
 * ```
 */
export function encodeFrame(
  opcode: Opcode,
  payload: Uint8Array,
  options: EncodeFrameOptions = {},
): Uint8Array {
  const size = headerSize(payload.length, options.mask !== undefined);
  const bytes = new Uint8Array(size + payload.length);
  writeHeader(bytes, opcode, payload.length, options);
  bytes.set(payload, size);
  if (options.mask) applyMask(bytes.subarray(size), options.mask);
  return bytes;
}

/**
 * Encodes an unmasked frame as two parts to write one after the other, its header and its
 * payload, which is not copied and must not change until it is written. For a large payload, a
 * second write costs less than copying it into one buffer.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeFrameParts, Opcode } from "./frame.ts";
 * const payload = new Uint8Array(300);
 * const [header, data] = encodeFrameParts(Opcode.Binary, payload);
 * assertEquals(header, new Uint8Array([0x82, 0x7e, 0x01, 0x2c]));
 * assertEquals(data === payload, true);
 * ```
 */
export function encodeFrameParts(
  opcode: Opcode,
  payload: Uint8Array,
  options: Omit<EncodeFrameOptions, "mask"> = {},
): [header: Uint8Array, payload: Uint8Array] {
  return [encodeFrameHeader(opcode, payload.length, options), payload];
}

/**
 * The largest header of an unmasked frame (RFC 6455 §5.2: 2 bytes, then an 8-byte length): the
 * room to leave in front of a payload that is to be framed in place.
 */
export const MAX_UNMASKED_HEADER_BYTES = 10;

/**
 * Encodes an unmasked frame around `payload` in its own buffer: the header goes into the bytes
 * just before the payload, which must be the caller's to overwrite, and nothing is copied. The
 * header depends only on the opcode, `rsv` and the length, so framing the same payload again
 * writes the same bytes.
 *
 * @throws {RangeError} when the payload starts too near its buffer's start for the header.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeFrameAround, MAX_UNMASKED_HEADER_BYTES, Opcode } from "./frame.ts";
 * const buffer = new Uint8Array(MAX_UNMASKED_HEADER_BYTES + 2);
 * const payload = buffer.subarray(MAX_UNMASKED_HEADER_BYTES);
 * payload.set([0x48, 0x69]);
 * const frame = encodeFrameAround(Opcode.Binary, payload);
 * assertEquals([frame, frame.buffer === buffer.buffer], [new Uint8Array([0x82, 0x02, 0x48, 0x69]), true]);
 * ```
 */
export function encodeFrameAround(opcode: Opcode, payload: Uint8Array, rsv = 0): Uint8Array {
  const size = headerSize(payload.length, false);
  if (payload.byteOffset < size) throw new RangeError("no room for the header before the payload");
  const frame = new Uint8Array(payload.buffer, payload.byteOffset - size, size + payload.length);
  writeHeader(frame, opcode, payload.length, { rsv });
  return frame;
}

/** Longer strings are encoded on their own: the scratch buffer holds 3 bytes per code unit. */
const SCRATCH_MAX_CHARS = 16 * 1024;
/** Where short texts are encoded before their exact-size frame is made: one buffer, reused. */
const scratch = new Uint8Array(SCRATCH_MAX_CHARS * 3);
const encoder = new TextEncoder();

/**
 * Encodes a string as one text frame. Short texts are encoded into a reused scratch buffer
 * first, so the frame is allocated at its exact size.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeTextFrame } from "./frame.ts";
 * assertEquals(encodeTextFrame("Hello"), new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
 * ```
 */
export function encodeTextFrame(text: string, options: EncodeFrameOptions = {}): Uint8Array {
  if (text.length > SCRATCH_MAX_CHARS) {
    return encodeFrame(Opcode.Text, encoder.encode(text), options);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 code unit, so it always fits.
  const length = encoder.encodeInto(text, scratch).written;
  return encodeFrame(Opcode.Text, scratch.subarray(0, length), options);
}
