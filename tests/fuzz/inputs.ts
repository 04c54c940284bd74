/**
 * Seeded random inputs for the fuzzer: client frame streams, with permessage-deflate agreed or
 * not, and request heads, mostly well formed so they reach deep into the parser and the inflater,
 * then mutated and cut at random points.
 */

import { deflateRawSync } from "node:zlib";
import { DeflateCodec } from "../../src/protocol/deflate.ts";
import { RSV1 } from "../../src/protocol/frame.ts";
import type { DeflateParameters } from "../../src/protocol/permessage_deflate.ts";
import { compress, FLUSH_TAIL, TAKEOVER_CODEC } from "../helpers/deflate.ts";
import { closePayload, concat, frame, type TestFrameOptions } from "../helpers/frames.ts";
import { INVALID_CLOSE_CODES, VALID_CLOSE_CODES } from "../helpers/frames.ts";

/** A small, fast, seeded generator (mulberry32): the same seed gives the same inputs. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    // A cheap generator seeded from this one: large payloads are common.
    let state = (this.next() * 4294967296) | 1;
    for (let i = 0; i < length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes[i] = state;
    }
    return bytes;
  }
}

const encoder = new TextEncoder();
const RESERVED_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf];
const LENGTHS = [0, 1, 2, 3, 7, 64, 125, 126, 127, 200, 1000, 4095, 4096, 4097, 65535, 65536];
// Code points from every UTF-8 length, and the edges around surrogates and the top of Unicode.
const CODE_POINTS = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff];
const BAD_UTF8 = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xe2, 0x82]];

function payloadLength(random: Random, control: boolean): number {
  if (control) return random.chance(0.9) ? random.below(126) : random.pick([126, 200]);
  return random.chance(0.5) ? random.below(300) : random.pick(LENGTHS);
}

/** Text bytes of `length`, invalid UTF-8 with probability `badChance`. */
function text(random: Random, length: number, badChance = 0.04): Uint8Array {
  // A short random run, repeated: varied enough, and cheap at 64 KiB.
  let run = "";
  while (run.length < Math.min(length, 64)) {
    run += random.chance(0.7)
      ? String.fromCharCode(0x20 + random.below(95))
      : String.fromCodePoint(random.pick(CODE_POINTS));
  }
  const bytes = new Uint8Array(length);
  // encodeInto writes whole characters only; what is left over is padded with "x".
  const written = encoder.encodeInto(run.repeat(Math.ceil(length / Math.max(1, run.length))), bytes)
    .written;
  bytes.fill(0x78, written);
  if (random.chance(badChance)) {
    const bad = random.pick(BAD_UTF8);
    bytes.set(bad.slice(0, bytes.length), random.below(Math.max(1, bytes.length - bad.length)));
  }
  return bytes;
}

function closeBody(random: Random): Uint8Array {
  if (random.chance(0.1)) return random.bytes(random.pick([0, 1]));
  const code = random.chance(0.8)
    ? random.pick(VALID_CLOSE_CODES)
    : random.pick(INVALID_CLOSE_CODES);
  return closePayload(code, text(random, random.below(random.chance(0.9) ? 20 : 124)));
}

function mask(random: Random): Uint8Array | null {
  return random.chance(0.01) ? null : random.bytes(4);
}

/**
 * On a connection with permessage-deflate, now and then RSV1 where it may not be: on a
 * continuation or a control frame (RFC 7692 §6.1). Without it, nothing: reserved bits are the
 * wild frames' business, and the inputs stay what they were before deflate was fuzzed.
 */
function strayRsv1(random: Random, deflate: boolean): number {
  return deflate && random.chance(0.03) ? RSV1 : 0;
}

/** A ping, a pong or a close, usually valid. */
function controlFrame(random: Random, deflate: boolean): Uint8Array {
  const opcode = random.pick([0x9, 0x9, 0xa, 0x8]);
  const payload = opcode === 0x8 ? closeBody(random) : random.bytes(payloadLength(random, true));
  return frame(opcode, payload, {
    fin: !random.chance(0.02),
    mask: mask(random),
    rsv: strayRsv1(random, deflate),
  });
}

/**
 * A message's frames: the payload whole or in fragments cut at random bytes (through UTF-8
 * sequences and DEFLATE blocks too), `rsv` on the first, control frames between the fragments
 * now and then.
 */
function messageFrames(
  random: Random,
  opcode: number,
  payload: Uint8Array,
  rsv: number,
  deflate: boolean,
): Uint8Array[] {
  const length = payload.length;
  const count = random.chance(0.7) ? 1 : 2 + random.below(4);
  const cuts = [0, ...Array.from({ length: count - 1 }, () => random.below(length + 1)), length]
    .sort((a, b) => a - b);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && random.chance(0.2)) frames.push(controlFrame(random, deflate));
    const piece = payload.subarray(cuts[i], cuts[i + 1]);
    const options: TestFrameOptions = {
      fin: i === count - 1,
      mask: mask(random),
      lengthField: random.chance(0.02) ? random.pick([126, 127] as const) : undefined,
      rsv: i === 0 ? rsv : strayRsv1(random, deflate),
    };
    // A 16-bit length cannot say 65536: the longer field, rather than a wrong length.
    if (options.lengthField === 126 && piece.length > 0xffff) options.lengthField = 127;
    frames.push(frame(i === 0 ? opcode : 0x0, piece, options));
  }
  return frames;
}

/** A message a generated stream means to send: text or binary, and its bytes. */
export interface MeantMessage {
  text: boolean;
  bytes: Uint8Array;
}

/** A message's frames, and the message they mean; null when that cannot be known in advance. */
interface GeneratedMessage {
  frames: Uint8Array[];
  meant: MeantMessage | null;
}

/** A text or binary message, uncompressed. */
function message(random: Random, deflate: boolean): GeneratedMessage {
  const opcode = random.chance(0.6) ? 0x1 : 0x2;
  const length = payloadLength(random, false);
  const payload = opcode === 0x1 ? text(random, length) : random.bytes(length);
  const frames = messageFrames(random, opcode, payload, 0, deflate);
  return { frames, meant: { text: opcode === 0x1, bytes: payload } };
}

/**
 * What ends a compressed message with one more, empty, stored block, as RFC 7692 §7.2.3.5's two
 * blocks in one message: the rest of the flush's tail, then the next block's header, which the
 * receiver's `00 00 ff ff` completes. (The tail alone would leave the receiver's appended tail the
 * start of a stored block of 65,280 bytes, that the next message fills, with context takeover.)
 */
const ONE_MORE_BLOCK = concat(FLUSH_TAIL, new Uint8Array([0x00]));

/**
 * One generated connection's compressor, within the client's window agreed. Half of them, and all
 * when the client agreed to keep no context, compress each message on its own: valid whether or
 * not the server keeps its window. Now and then such a message ends with a final block (RFC 7692
 * §7.2.3.4), after which the server's window starts over, and bytes after it that are to be
 * ignored. The others keep one compressor's window for the whole connection, so later messages
 * refer back to earlier ones, which only a server that keeps its inflater's window can follow.
 * (`deflateRawSync` ignores `dictionary` for raw deflate on Deno, so that window is the project's
 * own compressor's.) Either way a message now and then ends with one more, empty, block.
 */
class ClientCompressor implements Disposable {
  readonly #windowBits: number;
  readonly #takeover: DeflateCodec | null;

  constructor(random: Random, parameters: DeflateParameters) {
    this.#windowBits = parameters.clientMaxWindowBits;
    this.#takeover = !parameters.clientNoContextTakeover && random.chance(0.5)
      ? new DeflateCodec({ ...TAKEOVER_CODEC, deflateWindowBits: this.#windowBits })
      : null;
  }

  /** `payload` compressed, usually valid. */
  compress(random: Random, payload: Uint8Array): Uint8Array {
    if (this.#takeover) {
      // The codec sends an empty message uncompressed; compressed, it is one empty stored block,
      // 0x00 (RFC 7692 §7.2.3.6). No bytes at all would leave the receiver's appended tail the
      // start of a stored block, as above.
      const compressed = this.#takeover.encode(payload) ?? compress(payload);
      return random.chance(0.1) ? concat(compressed, ONE_MORE_BLOCK) : compressed;
    }
    // Any level: 0 makes stored blocks (RFC 7692 §7.2.3.3), 1 to 3 fixed Huffman codes mostly.
    const options = { level: random.below(10), windowBits: this.#windowBits };
    if (random.chance(0.1)) {
      // A final block; what follows it in the message is to be ignored.
      const final = new Uint8Array(deflateRawSync(payload, options));
      return random.chance(0.3) ? concat(final, random.bytes(1 + random.below(8))) : final;
    }
    const compressed = compress(payload, options);
    return random.chance(0.1) ? concat(compressed, ONE_MORE_BLOCK) : compressed;
  }

  [Symbol.dispose](): void {
    this.#takeover?.close();
  }
}

/**
 * What a handshake may agree of permessage-deflate: context takeover kept or not either way, and
 * windows of 15 bits mostly, as small as 9 now and then.
 */
export function deflateParameters(random: Random): DeflateParameters {
  const windowBits = () => random.chance(0.7) ? 15 : 9 + random.below(7);
  return {
    serverNoContextTakeover: random.chance(0.5),
    clientNoContextTakeover: random.chance(0.5),
    serverMaxWindowBits: windowBits(),
    clientMaxWindowBits: windowBits(),
  };
}

/** Sizes a small message inflates past the fuzzed limit to, from just over to far over. */
const BOMB_LENGTHS = [4097, 8192, 65536, 1 << 18];

/**
 * A compressed message (RSV1 on its first frame): text, now and then invalid UTF-8 once
 * inflated; binary, random (which does not compress) or repetitive (which does); now and then a
 * small bomb that inflates past the fuzzed limit; now and then damaged after compression.
 */
function compressedMessage(random: Random, compressor: ClientCompressor): GeneratedMessage {
  const opcode = random.chance(0.6) ? 0x1 : 0x2;
  const length = random.chance(0.05) ? random.pick(BOMB_LENGTHS) : payloadLength(random, false);
  let payload: Uint8Array;
  if (opcode === 0x1) payload = text(random, length, 0.1);
  else if (random.chance(0.5)) payload = random.bytes(length);
  else {
    // A short run of random bytes, repeated: it compresses well.
    const run = Math.min(length, 1 + random.below(16));
    payload = new Uint8Array(length);
    payload.set(random.bytes(run));
    for (let filled = run; filled < length; filled *= 2) payload.copyWithin(filled, 0, filled);
  }
  const compressed = compressor.compress(random, payload);
  // Damaged data may still inflate, to anything.
  const damaged = random.chance(0.05);
  const sent = damaged ? mutate(random, compressed) : compressed;
  const frames = messageFrames(random, opcode, sent, RSV1, true);
  return { frames, meant: damaged ? null : { text: opcode === 0x1, bytes: payload } };
}

/** A frame that may break any rule: opcode, reserved bits, FIN, masking. */
function wildFrame(random: Random): Uint8Array {
  const opcode = random.chance(0.3) ? random.pick(RESERVED_OPCODES) : random.below(16);
  const control = opcode >= 0x8;
  return frame(opcode, random.bytes(payloadLength(random, control)), {
    fin: random.chance(0.5),
    rsv: random.chance(0.3) ? 1 + random.below(7) : 0,
    mask: random.chance(0.2) ? null : random.bytes(4),
  });
}

/** Flips, drops, repeats or inserts a few bytes. */
export function mutate(random: Random, bytes: Uint8Array): Uint8Array {
  let result = bytes;
  for (let round = 1 + random.below(3); round > 0; round--) {
    if (result.length === 0) return random.bytes(1 + random.below(8));
    const at = random.below(result.length);
    switch (random.below(4)) {
      case 0:
        result = result.slice();
        result[at] ^= 1 << random.below(8);
        break;
      case 1:
        result = concat(result.subarray(0, at), result.subarray(at + 1 + random.below(8)));
        break;
      case 2:
        result = concat(result.subarray(0, at), result.subarray(at, at + 16), result.subarray(at));
        break;
      default:
        result = concat(
          result.subarray(0, at),
          random.bytes(1 + random.below(4)),
          result.subarray(at),
        );
    }
  }
  return result;
}

/** What the handshake of a generated connection agreed. */
export interface FrameStreamOptions {
  /**
   * permessage-deflate's parameters, when it was agreed: most messages are then compressed, with
   * RSV1 on their first frame. @default none
   */
  deflate?: DeflateParameters;
}

/** A generated client's bytes, and the messages they mean. */
export interface FrameStream {
  bytes: Uint8Array;
  /**
   * The messages the bytes mean, up to the first frame whose effect cannot be known in advance (a
   * wild frame, damaged compressed data, any mutation of the whole): a server makes exactly these
   * of them, or the first of them until a violation stops it, and anything after.
   */
  meant: MeantMessage[];
}

/**
 * The bytes of 1 to 8 messages, control frames and, now and then, a frame breaking a rule; the
 * whole mutated one time in five.
 */
export function frameStream(random: Random, options: FrameStreamOptions = {}): FrameStream {
  const deflate = options.deflate !== undefined;
  using compressor = options.deflate ? new ClientCompressor(random, options.deflate) : null;
  const frames: Uint8Array[] = [];
  const meant: MeantMessage[] = [];
  // Unknown effects may be lasting: a wild frame may leave a message begun, garbage inflated
  // changes the window later messages refer to.
  let known = true;
  for (let count = 1 + random.below(8); count > 0; count--) {
    const kind = random.next();
    if (kind < 0.7) {
      const generated = compressor && kind < 0.45
        ? compressedMessage(random, compressor)
        : message(random, deflate);
      frames.push(...generated.frames);
      known &&= generated.meant !== null;
      if (known) meant.push(generated.meant!);
    } else if (kind < 0.92) frames.push(controlFrame(random, deflate));
    else {
      frames.push(wildFrame(random));
      known = false;
    }
  }
  const bytes = concat(...frames);
  return random.chance(0.2) ? { bytes: mutate(random, bytes), meant: [] } : { bytes, meant };
}

const HEADER_NAMES = [
  "Host",
  "Upgrade",
  "Connection",
  "Sec-WebSocket-Key",
  "Sec-WebSocket-Version",
];

/** A WebSocket upgrade request head, varied in case, spacing and line endings, often mutated. */
export function requestHead(random: Random): Uint8Array {
  const eol = random.chance(0.8) ? "\r\n" : "\n";
  const values: Record<string, string> = {
    Host: random.pick(["127.0.0.1:8000", "example.com", "[::1]:9", "a b", ""]),
    Upgrade: random.pick(["websocket", "WebSocket", "h2c, websocket", "web socket"]),
    Connection: random.pick(["Upgrade", "keep-alive, upgrade", "close"]),
    "Sec-WebSocket-Key": random.pick([
      "dGhlIHNhbXBsZSBub25jZQ==",
      "short",
      "dGhlIHNhbXBsZSBub25jZQ",
    ]),
    "Sec-WebSocket-Version": random.pick(["13", "8", "13, 8", ""]),
  };
  const lines = [
    `${random.pick(["GET", "GET", "POST", "get"])} ${
      random.pick(["/", "/chat?room=1", "http://h/x", "*", "/a b"])
    } ${random.pick(["HTTP/1.1", "HTTP/1.0", "HTTP/2"])}`,
  ];
  for (const name of HEADER_NAMES) {
    if (random.chance(0.05)) continue;
    const spelled = random.chance(0.3) ? name.toLowerCase() : name;
    lines.push(`${spelled}:${random.pick(["", " ", "  \t"])}${values[name]}`);
  }
  const bytes = encoder.encode(lines.join(eol) + eol + eol);
  return random.chance(0.5) ? mutate(random, bytes) : bytes;
}

/** `bytes` cut at 0 to 8 random points; empty pieces included. */
export function cut(random: Random, bytes: Uint8Array): Uint8Array[] {
  const points = Array.from({ length: random.below(9) }, () => random.below(bytes.length + 1))
    .sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  return pieces;
}
