/**
 * The compression of permessage-deflate (RFC 7692 §7.2), as the connection's
 * {@linkcode Extension}: messages deflated and inflated whole, synchronously, with the LZ77
 * window kept between messages or not.
 *
 * The engines are `node:zlib`'s raw deflate and inflate streams, which Deno, Bun and Node all
 * provide. They are driven through `writeSync`, the synchronous call on a stream's handle that
 * `node:zlib`'s own `deflateRawSync` and `inflateRawSync` make, so that a stream's context
 * survives from one message to the next and a message is done in the turn it arrives.
 *
 * @module
 */

import { constants, createDeflateRaw, createInflateRaw } from "node:zlib";
import { CloseCode } from "./close_code.ts";
import { ProtocolError } from "./errors.ts";
import type { Extension } from "./extension.ts";
import { RSV1 } from "./frame.ts";

/**
 * How one end compresses what it sends and inflates what it receives.
 *
 * @example A server's, with the defaults: no context kept for what it sends, the client's kept
 * ```ts
 * import type { DeflateCodecOptions } from "./deflate.ts";
 * const options: DeflateCodecOptions = {
 *   deflateWindowBits: 15, inflateWindowBits: 15, deflateContextTakeover: false,
 *   inflateContextTakeover: true, level: 6, memLevel: 8, threshold: 1024,
 * };
 * ```
 */
export interface DeflateCodecOptions {
  /** The window this end compresses with, 9 to 15 (RFC 7692 §7.1.2: `*_max_window_bits`). */
  deflateWindowBits: number;
  /** The peer's window: this end inflates with at least that, 9 to 15. */
  inflateWindowBits: number;
  /** Whether this end keeps its compressor's window between messages (§7.1.1). */
  deflateContextTakeover: boolean;
  /** Whether the peer keeps its window between messages, so the inflater must too (§7.1.1). */
  inflateContextTakeover: boolean;
  /** zlib's compression level, 0 to 9. */
  level: number;
  /** zlib's memory level, 1 to 9: the compressor's hash table is `2 ** (memLevel + 9)` bytes. */
  memLevel: number;
  /** Messages shorter than this many bytes are sent uncompressed. */
  threshold: number;
}

/** RFC 7692 §7.2.1: a sync flush ends with these four bytes, which are removed before sending. */
const FLUSH_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * Options of every stream made: its own output buffer goes unused (the engine writes into
 * `output`), so it is made as small as `node:zlib` allows, 64 bytes instead of 16 KiB.
 */
const STREAM = { chunkSize: 64 };

/**
 * Where the engines write a message's output, piece after piece, until it is full. Its size
 * bounds how far past its limit a message is inflated before it is stopped.
 */
const OUTPUT_BYTES = 256 * 1024;
const output = new Uint8Array(OUTPUT_BYTES);

/**
 * One message's output as an engine writes it: in `output` while it fits, in copies of it once
 * it has filled, so a message that fits is copied once, into its payload.
 */
class MessageOutput {
  readonly #maxBytes: number;
  readonly #filled: Uint8Array[] = [];
  /** Bytes of `output` in use. */
  #used = 0;
  #length = 0;

  /** Starts a message's output; more than `maxBytes` of it is a 1009. */
  constructor(maxBytes = Infinity) {
    this.#maxBytes = maxBytes;
  }

  /** Where the engine may write next in `output`: after what is there, or at 0 once it is full. */
  get offset(): number {
    if (this.#used === OUTPUT_BYTES) {
      this.#filled.push(output.slice());
      this.#used = 0;
    }
    return this.#used;
  }

  /**
   * Records that the engine wrote `count` bytes at {@linkcode offset}.
   *
   * @throws {ProtocolError} 1009 once the message is over its limit.
   */
  wrote(count: number): void {
    this.#used += count;
    this.#length += count;
    if (this.#length > this.#maxBytes) {
      throw new ProtocolError(CloseCode.MessageTooBig, `message over ${this.#maxBytes} bytes`);
    }
  }

  /** The output as one payload, without its last `trim` bytes. */
  payload(trim = 0): Uint8Array {
    const payload = new Uint8Array(this.#length - trim);
    let offset = 0;
    for (const part of [...this.#filled, output.subarray(0, this.#used)]) {
      const take = Math.min(part.length, payload.length - offset);
      payload.set(part.subarray(0, take), offset);
      offset += take;
    }
    return payload;
  }
}

/** The part of a `node:zlib` stream's handle that runs the engine synchronously. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

/** A `node:zlib` stream as this module drives it: its handle, and where the handle reports. */
interface ZlibStream {
  _handle?: ZlibHandle;
  /** After each `writeSync`: the output space left, then the input left unread. */
  _writeState?: Uint32Array;
  close(): void;
}

/** One raw deflate or inflate engine, run synchronously, one message at a time. */
class Engine {
  readonly #stream: ZlibStream;
  readonly #handle: ZlibHandle;
  readonly #state: Uint32Array;
  #error: string | null = null;

  constructor(stream: ZlibStream) {
    if (!stream._handle?.writeSync || !stream._writeState) {
      stream.close();
      throw new TypeError("this runtime's node:zlib cannot be driven synchronously");
    }
    this.#stream = stream;
    this.#handle = stream._handle;
    this.#state = stream._writeState;
    this.#handle.onerror = (message) => this.#error = message;
  }

  /**
   * Runs `input` through the engine with a sync flush into `out`, and returns how many input
   * bytes were left unread: more than 0 only when an inflater met the end of a DEFLATE stream (a
   * block with BFINAL set).
   *
   * @throws {Error} with zlib's message when the input is not valid DEFLATE data.
   * @throws {ProtocolError} 1009 from `out`.
   */
  write(input: Uint8Array, out: MessageOutput): number {
    let offset = 0;
    let left = input.length;
    for (;;) {
      const at = out.offset;
      const room = OUTPUT_BYTES - at;
      this.#handle.writeSync(constants.Z_SYNC_FLUSH, input, offset, left, output, at, room);
      if (this.#error !== null) {
        const message = this.#error;
        this.#error = null;
        throw new Error(message);
      }
      const outputLeft = this.#state[0];
      const inputLeft = this.#state[1];
      out.wrote(room - outputLeft);
      offset += left - inputLeft;
      // A full output means the engine may hold more; otherwise it has taken all it will.
      if (outputLeft > 0 && (inputLeft === 0 || inputLeft === left)) return inputLeft;
      left = inputLeft;
    }
  }

  /** Forgets the window: the next message starts a new DEFLATE stream. */
  reset(): void {
    this.#handle.reset();
  }

  /** Frees zlib's memory. */
  close(): void {
    this.#stream.close();
  }
}

/** Engines without context takeover are reset after each message, so one serves everyone. */
const sharedEngines = new Map<string, Engine>();

function sharedEngine(key: string, make: () => Engine): Engine {
  let engine = sharedEngines.get(key);
  if (!engine) sharedEngines.set(key, engine = make());
  return engine;
}

/**
 * Whether this runtime's `node:zlib` can run a stream's engine synchronously, as this module
 * needs; a server that finds it cannot declines every offer of the extension.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { deflateSupported } from "./deflate.ts";
 * assert(deflateSupported());
 * ```
 */
export function deflateSupported(): boolean {
  if (supported === undefined) {
    try {
      new Engine(createInflateRaw(STREAM) as unknown as ZlibStream).close();
      supported = true;
    } catch {
      supported = false;
    }
  }
  return supported;
}

/** Whether {@linkcode deflateSupported}, once it has looked. */
let supported: boolean | undefined;

/**
 * One connection's permessage-deflate: compresses messages worth compressing and inflates
 * compressed ones; RSV1 marks a compressed message (RFC 7692 §6). An engine with context takeover
 * is made on first use and kept until {@linkcode close}; one without is shared by every
 * connection with the same settings.
 *
 * @example A message deflated by one end and inflated by the other, twice, sharing the window
 * ```ts
 * import { assertEquals, assertLess } from "@std/assert";
 * import { DeflateCodec } from "./deflate.ts";
 * const options = {
 *   deflateWindowBits: 15, inflateWindowBits: 15, deflateContextTakeover: true,
 *   inflateContextTakeover: true, level: 6, memLevel: 8, threshold: 0,
 * };
 * const sender = new DeflateCodec(options);
 * const receiver = new DeflateCodec(options);
 * const text = new TextEncoder().encode("Hello, hello, hello!");
 * const first = sender.encode(text)!;
 * const second = sender.encode(text)!;
 * assertLess(second.length, first.length); // the second refers back to the first
 * assertEquals(receiver.decode([first], 1024), text);
 * assertEquals(receiver.decode([second], 1024), text);
 * sender.close();
 * receiver.close();
 * ```
 */
export class DeflateCodec implements Extension {
  /** RFC 7692 §6: RSV1 marks a compressed message. */
  readonly rsv = RSV1;
  readonly #options: DeflateCodecOptions;
  readonly #onClose: (() => void) | undefined;
  #deflater: Engine | null = null;
  #inflater: Engine | null = null;
  #closed = false;

  /**
   * Makes the codec of one connection; no engine is made until a message needs it. `onClose` is
   * called once when the codec is closed (a server gives its place among the compressing
   * connections back then).
   */
  constructor(options: DeflateCodecOptions, onClose?: () => void) {
    this.#options = options;
    this.#onClose = onClose;
  }

  /** Messages shorter than the threshold go uncompressed. */
  get minBytes(): number {
    return this.#options.threshold;
  }

  /**
   * Without context takeover for what it sends, every codec with the same window, level and
   * memory compresses a message to the same bytes (their engine is the one shared engine).
   */
  get shareKey(): string | undefined {
    if (this.#options.deflateContextTakeover) return undefined;
    const { deflateWindowBits, level, memLevel } = this.#options;
    return `permessage-deflate ${deflateWindowBits} ${level} ${memLevel}`;
  }

  /**
   * Compresses a message's payload (RFC 7692 §7.2.1) into a new payload, without the flush's
   * `00 00 ff ff` tail; null when it is shorter than the threshold, or empty.
   */
  encode(payload: Uint8Array): Uint8Array | null {
    if (payload.length < Math.max(1, this.#options.threshold)) return null;
    const engine = this.#deflateEngine();
    const out = new MessageOutput();
    try {
      engine.write(payload, out);
    } finally {
      if (!this.#options.deflateContextTakeover) engine.reset();
    }
    return out.payload(FLUSH_TAIL.length);
  }

  /**
   * Inflates a compressed message from its frames' payloads (RFC 7692 §7.2.2: the payloads, then
   * `00 00 ff ff`), counting the output against `maxBytes` as it grows, so a message that would
   * inflate past it stops there.
   *
   * @throws {ProtocolError} 1009 when the message inflates to more than `maxBytes`; 1007 when
   * it is not valid DEFLATE data.
   */
  decode(payloads: readonly Uint8Array[], maxBytes: number): Uint8Array {
    // No bytes at all can only mean an empty message. The tail alone would leave the inflater
    // inside a stored block, and the next message that shares its window would come out wrong.
    if (payloads.every((payload) => payload.length === 0)) return new Uint8Array(0);
    const engine = this.#inflateEngine();
    const out = new MessageOutput(maxBytes);
    let ended = false;
    try {
      // Input left unread means the DEFLATE stream ended with a final block (§7.2.3.4): what
      // follows it in the message is ignored, and the peer starts a new stream, with an empty
      // window, for its next message.
      for (const payload of payloads) {
        if (payload.length > 0 && engine.write(payload, out) > 0) {
          ended = true;
          break;
        }
      }
      if (!ended) ended = engine.write(FLUSH_TAIL, out) > 0;
    } catch (error) {
      engine.reset();
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError(CloseCode.InvalidPayload, "invalid compressed data");
    }
    if (ended || !this.#options.inflateContextTakeover) engine.reset();
    return out.payload();
  }

  /** Frees this connection's engines; the codec must not be used afterwards. */
  close(): void {
    this.#deflater?.close();
    this.#inflater?.close();
    this.#deflater = this.#inflater = null;
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.();
  }

  #deflateEngine(): Engine {
    const { deflateWindowBits: windowBits, level, memLevel } = this.#options;
    const make = () =>
      new Engine(
        createDeflateRaw({ ...STREAM, windowBits, level, memLevel }) as unknown as ZlibStream,
      );
    if (!this.#options.deflateContextTakeover) {
      return sharedEngine(`deflate ${windowBits} ${level} ${memLevel}`, make);
    }
    return this.#deflater ??= make();
  }

  #inflateEngine(): Engine {
    const windowBits = this.#options.inflateWindowBits;
    const make = () =>
      new Engine(createInflateRaw({ ...STREAM, windowBits }) as unknown as ZlibStream);
    if (!this.#options.inflateContextTakeover) return sharedEngine(`inflate ${windowBits}`, make);
    return this.#inflater ??= make();
  }
}
