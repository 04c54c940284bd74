/**
 * Seeded random inputs for the fuzzer: client frame streams and request heads, mostly well formed
 * so they reach deep into the parser, then mutated and cut at random points.
 */

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

function text(random: Random, length: number): Uint8Array {
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
  if (random.chance(0.04)) {
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

/** A ping, a pong or a close, usually valid. */
function controlFrame(random: Random): Uint8Array {
  const opcode = random.pick([0x9, 0x9, 0xa, 0x8]);
  const payload = opcode === 0x8 ? closeBody(random) : random.bytes(payloadLength(random, true));
  return frame(opcode, payload, { fin: !random.chance(0.02), mask: mask(random) });
}

/**
 * A text or binary message, whole or in fragments cut at random bytes (through UTF-8 sequences
 * too), with control frames between the fragments now and then.
 */
function message(random: Random): Uint8Array[] {
  const opcode = random.chance(0.6) ? 0x1 : 0x2;
  const length = payloadLength(random, false);
  const payload = opcode === 0x1 ? text(random, length) : random.bytes(length);
  const count = random.chance(0.7) ? 1 : 2 + random.below(4);
  const cuts = [0, ...Array.from({ length: count - 1 }, () => random.below(length + 1)), length]
    .sort((a, b) => a - b);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && random.chance(0.2)) frames.push(controlFrame(random));
    frames.push(frame(i === 0 ? opcode : 0x0, payload.subarray(cuts[i], cuts[i + 1]), {
      fin: i === count - 1,
      mask: mask(random),
      lengthField: random.chance(0.02) ? random.pick([126, 127] as const) : undefined,
    }));
  }
  return frames;
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

/**
 * The bytes of 1 to 8 messages, control frames and, now and then, a frame breaking a rule; the
 * whole mutated one time in five.
 */
export function frameStream(random: Random): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let count = 1 + random.below(8); count > 0; count--) {
    const kind = random.next();
    if (kind < 0.7) frames.push(...message(random));
    else if (kind < 0.92) frames.push(controlFrame(random));
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
