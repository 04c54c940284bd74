/**
 * Seeded random inputs for the fuzzer: client frame streams, with permessage-deflate agreed or
 * not, and request heads, mostly well formed so they reach deep into the parser and the inflater,
 * then mutated and cut at random points.
 */

import { deflateRawSync } from "node:zlib";
import { DeflateCodec } from "../../src/protocol/deflate.ts";
import { RSV1 } from "../../src/protocol/frame.ts";
import { compress, FLUSH_TAIL, TAKEOVER_CODEC } from "../helpers/deflate.ts";
import { closePayload, concat, frame } from "../helpers/frames.ts";
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
    frames.push(frame(i === 0 ? opcode : 0x0, payload.subarray(cuts[i], cuts[i + 1]), {
      fin: i === count - 1,
      mask: mask(random),
      lengthField: random.chance(0.02) ? random.pick([126, 127] as const) : undefined,
      rsv: i === 0 ? rsv : strayRsv1(random, deflate),
    }));
  }
  return frames;
}

/** A text or binary message, uncompressed. */
function message(random: Random, deflate: boolean): Uint8Array[] {
  const opcode = random.chance(0.6) ? 0x1 : 0x2;
  const length = payloadLength(random, false);
  const payload = opcode === 0x1 ? text(random, length) : random.bytes(length);
  return messageFrames(random, opcode, payload, 0, deflate);
}

/**
 * One generated connection's compressor. Half of them compress each message on its own, as a
 * peer without context takeover would: valid whether or not the server keeps its window. Now and
 * then such a message ends with a final block (RFC 7692 §7.2.3.4), after which the server's window
 * starts over, and bytes after it that are to be ignored. The other half keep one compressor's
 * window for the whole connection, so later messages refer back to earlier ones, which only a
 * server that keeps its inflater's window can follow. (`deflateRawSync` ignores `dictionary` for
 * raw deflate on Deno, so that window is the project's own compressor's.) Either way a message now
 * and then keeps the flush's tail: one more, empty, block (§7.2.3.5).
 */
class ClientCompressor implements Disposable {
  readonly #takeover: DeflateCodec | null;

  constructor(random: Random) {
    this.#takeover = random.chance(0.5) ? new DeflateCodec(TAKEOVER_CODEC) : null;
  }

  /** `payload` compressed, usually valid. */
  compress(random: Random, payload: Uint8Array): Uint8Array {
    if (this.#takeover) {
      // An empty message has no DEFLATE data at all; a kept tail is one more empty block.
      const compressed = this.#takeover.deflate(payload) ?? new Uint8Array();
      return random.chance(0.1) ? concat(compressed, FLUSH_TAIL) : compressed;
    }
    // Any level: 0 makes stored blocks (RFC 7692 §7.2.3.3), 1 to 3 fixed Huffman codes mostly.
    const level = random.below(10);
    if (random.chance(0.1)) {
      // A final block; what follows it in the message is to be ignored.
      const final = new Uint8Array(deflateRawSync(payload, { level }));
      return random.chance(0.3) ? concat(final, random.bytes(1 + random.below(8))) : final;
    }
    const compressed = compress(payload, { level });
    return random.chance(0.1) ? concat(compressed, FLUSH_TAIL) : compressed;
  }

  [Symbol.dispose](): void {
    this.#takeover?.close();
  }
}

/** Sizes a small message inflates past the fuzzed limit to, from just over to far over. */
const BOMB_LENGTHS = [4097, 8192, 65536, 1 << 18];

/**
 * A compressed message (RSV1 on its first frame): text, now and then invalid UTF-8 once
 * inflated; binary, random (which does not compress) or repetitive (which does); now and then a
 * small bomb that inflates past the fuzzed limit; now and then damaged after compression.
 */
function compressedMessage(random: Random, compressor: ClientCompressor): Uint8Array[] {
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
  const sent = random.chance(0.05) ? mutate(random, compressed) : compressed;
  return messageFrames(random, opcode, sent, RSV1, true);
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
   * permessage-deflate: most messages are compressed, with RSV1 on their first frame.
   * @default false
   */
  deflate?: boolean;
}

/**
 * The bytes of 1 to 8 messages, control frames and, now and then, a frame breaking a rule; the
 * whole mutated one time in five.
 */
export function frameStream(random: Random, options: FrameStreamOptions = {}): Uint8Array {
  const deflate = options.deflate ?? false;
  using compressor = deflate ? new ClientCompressor(random) : null;
  const frames: Uint8Array[] = [];
  for (let count = 1 + random.below(8); count > 0; count--) {
    const kind = random.next();
    if (compressor && kind < 0.45) frames.push(...compressedMessage(random, compressor));
    else if (kind < 0.7) frames.push(...message(random, deflate));
    else if (kind < 0.92) frames.push(controlFrame(random, deflate));
    else frames.push(wildFrame(random));
  }
  const bytes = concat(...frames);
  return random.chance(0.2) ? mutate(random, bytes) : bytes;
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
