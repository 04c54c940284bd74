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
 * Writes a header at `at` in `bytes` for a payload of `length` bytes, the masking key included,
 * and returns where the payload starts.
 */
function writeHeader(
  bytes: Uint8Array,
  at: number,
  opcode: Opcode,
  length: number,
  options: EncodeFrameOptions,
): number {
  const { fin = true, rsv = 0, mask } = options;
  bytes[at] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = mask ? 0x80 : 0;
  let next = at + 2;
  if (length < 126) {
    bytes[at + 1] = maskBit | length;
  } else if (length < 0x10000) {
    bytes[at + 1] = maskBit | 126;
    bytes[at + 2] = length >>> 8;
    bytes[at + 3] = length & 0xff;
    next += 2;
  } else {
    bytes[at + 1] = maskBit | 127;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at);
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
  writeHeader(bytes, 0, opcode, length, options);
  return bytes;
}

/**
 * Where frames are encoded one after the other: `reserve(length)` makes room for `length` more
 * bytes in `bytes` and returns where in it they start. An outgoing queue is one, so a frame is
 * encoded where it waits to be written.
 *
 * @example A sink that keeps each frame in a buffer of its own
 * ```ts
 * import { type FrameSink, Opcode, writeFrame } from "./frame.ts";
 * const frames: Uint8Array[] = [];
 * const sink: FrameSink = {
 *   bytes: new Uint8Array(0),
 *   reserve(length) {
 *     frames.push(this.bytes = new Uint8Array(length));
 *     return 0;
 *   },
 * };
 * writeFrame(sink, Opcode.Binary, new Uint8Array([1, 2]));
 * console.log(frames); // [ Uint8Array(4) [ 130, 2, 1, 2 ] ]
 * ```
 */
export interface FrameSink {
  /** The buffer the bytes last reserved are in. */
  bytes: Uint8Array;
  /** Makes room for `length` bytes, to be written at once, and returns their offset in `bytes`. */
  reserve(length: number): number;
}

/** The sink of {@linkcode encodeFrame} and {@linkcode encodeTextFrame}: one frame, its own buffer. */
class OneFrame implements FrameSink {
  bytes: Uint8Array = EMPTY;
  reserve(length: number): number {
    this.bytes = new Uint8Array(length);
    return 0;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Writes one frame, header and payload, into the room `sink` reserves for it, so that frames
 * go out in few writes. Uses the shortest length encoding (RFC 6455 §5.2).
 *
 * @example See {@linkcode FrameSink}.
 */
export function writeFrame(
  sink: FrameSink,
  opcode: Opcode,
  payload: Uint8Array,
  options: EncodeFrameOptions = {},
): void {
  const length = payload.length;
  const at = sink.reserve(headerSize(length, options.mask !== undefined) + length);
  const bytes = sink.bytes;
  const start = writeHeader(bytes, at, opcode, length, options);
  bytes.set(payload, start);
  if (options.mask) applyMask(bytes.subarray(start, start + length), options.mask);
}

/**
 * Encodes one frame, header and payload in one buffer of its own, so it goes out in one write:
 * see {@linkcode writeFrame}.
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
  const sink = new OneFrame();
  writeFrame(sink, opcode, payload, options);
  return sink.bytes;
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
  writeHeader(frame, 0, opcode, payload.length, { rsv });
  return frame;
}

/** Longer strings are encoded on their own: the scratch buffer holds 3 bytes per code unit. */
const SCRATCH_MAX_CHARS = 16 * 1024;
/** Where short texts are encoded before their exact-size frame is made: one buffer, reused. */
const scratch = new Uint8Array(SCRATCH_MAX_CHARS * 3);
const encoder = new TextEncoder();

/**
 * Texts of this many code units or fewer are checked for ASCII and copied in JS: about as cheap
 * as `encodeInto` on Deno, cheaper on Bun and Node. At 64 the JS copy costs 1.4x (Bun) to 2.9x
 * (Node) what `encodeInto` does.
 */
const ASCII_FAST_PATH_MAX_CHARS = 16;

/**
 * Writes a string as one text frame into the room `sink` reserves for it (see
 * {@linkcode writeFrame}). Short ASCII is copied in byte by byte; other short texts are encoded
 * into a reused scratch buffer first, so the frame takes its exact size.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { type FrameSink, writeTextFrame } from "./frame.ts";
 * const sink: FrameSink = {
 *   bytes: new Uint8Array(16),
 *   reserve: () => 4,
 * };
 * writeTextFrame(sink, "Hi");
 * assertEquals(sink.bytes.subarray(4, 8), new Uint8Array([0x81, 0x02, 0x48, 0x69]));
 * ```
 */
export function writeTextFrame(
  sink: FrameSink,
  text: string,
  options: EncodeFrameOptions = {},
): void {
  const length = text.length;
  if (length <= ASCII_FAST_PATH_MAX_CHARS && isAscii(text)) {
    const at = sink.reserve(headerSize(length, options.mask !== undefined) + length);
    const bytes = sink.bytes;
    const start = writeHeader(bytes, at, Opcode.Text, length, options);
    for (let i = 0; i < length; i++) bytes[start + i] = text.charCodeAt(i);
    if (options.mask) applyMask(bytes.subarray(start, start + length), options.mask);
  } else if (length > SCRATCH_MAX_CHARS) {
    writeFrame(sink, Opcode.Text, encoder.encode(text), options);
  } else {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so it always fits.
    const written = encoder.encodeInto(text, scratch).written;
    writeFrame(sink, Opcode.Text, scratch.subarray(0, written), options);
  }
}

/**
 * Encodes a string as one text frame in a buffer of its own: see {@linkcode writeTextFrame}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeTextFrame } from "./frame.ts";
 * assertEquals(encodeTextFrame("Hello"), new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
 * ```
 */
export function encodeTextFrame(text: string, options: EncodeFrameOptions = {}): Uint8Array {
  const sink = new OneFrame();
  writeTextFrame(sink, text, options);
  return sink.bytes;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
