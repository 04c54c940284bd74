/**
 * The chunked transfer coding (RFC 9112 §7.1): an incremental decoder for request bodies, strict
 * about every byte of the framing, and the encoder of response bodies of unknown length.
 *
 * @module
 */

import type { BodyDecoder, DecodedBody } from "./decoded_body.ts";
import { HandshakeError } from "./errors.ts";
import { isFieldValue, isToken } from "./http1.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CHUNK_EXTENSION_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  MAX_CHUNK_SIZE_DIGITS,
} from "./limits.ts";

/** Options of {@linkcode ChunkedDecoder}. */
export interface ChunkedDecoderOptions {
  /** The largest body, in bytes; a chunk size that takes it over is 413. @default {64 MiB} */
  maxBodyBytes?: number;
  /** The most bytes of chunk extensions, all chunks together; over it is 413. @default {16 KiB} */
  maxChunkExtensionBytes?: number;
  /**
   * The most bytes of trailer fields, with their line ends; over it is 431. A trailer section
   * is a header section after the body, so it gets the head's limit.
   * @default {16 KiB}
   */
  maxTrailerBytes?: number;
  /** The most trailer fields; over it is 431. @default {100} */
  maxTrailerCount?: number;
}

const CR = 0x0d;
const LF = 0x0a;

/** Where the decoder is in the body; the framing is read byte by byte, the data in runs. */
const State = {
  /** In a chunk size's hex digits. */
  Size: 0,
  /** In a chunk's extensions, after its size. */
  Extension: 1,
  /** After the CR that ends a chunk's size line. */
  SizeLf: 2,
  /** In a chunk's data. */
  Data: 3,
  /** After a chunk's data, where its CR must be. */
  DataCr: 4,
  /** After the CR that follows a chunk's data. */
  DataLf: 5,
  /** In a trailer line (or where the blank line that ends the body may be). */
  Trailer: 6,
  /** After the CR that ends a trailer line, or the blank line. */
  TrailerLf: 7,
  /** After the body. */
  Done: 8,
} as const;
type State = typeof State[keyof typeof State];

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), a
// value a token or a quoted-string (RFC 9110 §5.6.4), as Latin-1 text; BWS is spaces and tabs.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED =
  '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x20-\\x7e\\x80-\\xff])*"';
const EXTENSIONS = new RegExp(
  `^(?:[ \\t]*;[ \\t]*${TOKEN}(?:[ \\t]*=[ \\t]*(?:${TOKEN}|${QUOTED}))?)*$`,
);

function badChunk(message: string): HandshakeError {
  return new HandshakeError(400, `malformed chunked body: ${message}`);
}

/** The value of a hex digit's byte, or -1 for any other byte. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * Decodes a chunked body (RFC 9112 §7.1) from chunks of any split: the data as views into them,
 * the end, and the bytes after it untouched.
 *
 * Strict where parsers in a chain could disagree: a size is hex digits alone (no sign, spaces or
 * `0x`, at most {@linkcode MAX_CHUNK_SIZE_DIGITS}, within `Number.MAX_SAFE_INTEGER`); every line
 * of the framing ends in CRLF, and a bare CR or LF in it is 400; the data of each chunk must be
 * followed by CRLF. Chunk extensions are checked against their grammar, counted against
 * `maxChunkExtensionBytes`, and ignored. Trailer fields are checked as header fields, counted
 * against `maxTrailerBytes` and `maxTrailerCount`, and dropped: a fetch `Request` has no place
 * for them, and RFC 9110 §6.5.1 forbids merging them into the header fields unasked.
 *
 * @example A body in two chunks, fed one byte at a time
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChunkedDecoder } from "./chunked.ts";
 * const decoder = new ChunkedDecoder();
 * let body = "";
 * for (const byte of new TextEncoder().encode("3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nA: b\r\n\r\n")) {
 *   for (const data of decoder.push(new Uint8Array([byte])).data) body += new TextDecoder().decode(data);
 * }
 * assertEquals([body, decoder.done], ["abcd", true]);
 * ```
 */
export class ChunkedDecoder implements BodyDecoder {
  readonly #maxBodyBytes: number;
  readonly #maxExtensionBytes: number;
  readonly #maxTrailerBytes: number;
  readonly #maxTrailerCount: number;
  #state: State = State.Size;
  /** The current chunk's size as read so far, then what is left of its data. */
  #size = 0;
  #digits = 0;
  /** The current chunk's extensions, or trailer line, so far, as Latin-1 text. */
  #line = "";
  #received = 0;
  #extensionBytes = 0;
  #trailerBytes = 0;
  #trailerCount = 0;

  /** Creates a decoder for one body. */
  constructor(options: ChunkedDecoderOptions = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#maxExtensionBytes = options.maxChunkExtensionBytes ??
      DEFAULT_MAX_CHUNK_EXTENSION_BYTES;
    this.#maxTrailerBytes = options.maxTrailerBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.#maxTrailerCount = options.maxTrailerCount ?? DEFAULT_MAX_HEADER_COUNT;
  }

  /** Whether the last chunk and the trailer section have come. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** The body's data bytes so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Takes the next bytes; see {@linkcode BodyDecoder.push}.
   *
   * @throws {HandshakeError} 400 for malformed framing, 413 for a body over `maxBodyBytes` or
   * extensions over `maxChunkExtensionBytes`, 431 for trailers over their limits.
   */
  push(chunk: Uint8Array): DecodedBody {
    if (this.#state === State.Done) {
      return { data: [], done: true, rest: chunk };
    }
    const data: Uint8Array[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === State.Data) {
        const taken = Math.min(this.#size, chunk.length - i);
        data.push(chunk.subarray(i, i + taken));
        i += taken;
        this.#size -= taken;
        this.#received += taken;
        if (this.#size === 0) this.#state = State.DataCr;
        continue;
      }
      this.#framingByte(chunk[i++]);
      if (this.done) return { data, done: true, rest: chunk.subarray(i) };
    }
    return { data, done: false, rest: chunk.subarray(i) };
  }

  /** Reads one byte of the framing: a size line, the CRLF after data, or the trailer section. */
  #framingByte(byte: number): void {
    switch (this.#state) {
      case State.Size:
        return this.#sizeByte(byte);
      case State.Extension:
        return this.#extensionByte(byte);
      case State.SizeLf:
        if (byte !== LF) throw badChunk("bare CR in a chunk size line");
        this.#line = "";
        this.#state = this.#size === 0 ? State.Trailer : State.Data;
        return;
      case State.DataCr:
        if (byte !== CR) throw badChunk("chunk data not followed by CRLF");
        this.#state = State.DataLf;
        return;
      case State.DataLf:
        if (byte !== LF) throw badChunk("chunk data not followed by CRLF");
        this.#size = 0;
        this.#digits = 0;
        this.#state = State.Size;
        return;
      case State.Trailer:
      case State.TrailerLf:
        return this.#trailerByte(byte);
    }
  }

  #sizeByte(byte: number): void {
    const value = hexValue(byte);
    if (value !== -1) {
      if (++this.#digits > MAX_CHUNK_SIZE_DIGITS) {
        throw badChunk(
          `chunk size of more than ${MAX_CHUNK_SIZE_DIGITS} digits`,
        );
      }
      this.#size = this.#size * 16 + value;
      if (this.#size > Number.MAX_SAFE_INTEGER) {
        throw badChunk("chunk size too large");
      }
      // Known as soon as the digits say so: no data of an oversized chunk is read.
      if (this.#received + this.#size > this.#maxBodyBytes) {
        throw new HandshakeError(
          413,
          `the body is larger than ${this.#maxBodyBytes} bytes`,
        );
      }
      return;
    }
    if (this.#digits === 0) throw badChunk("chunk size without hex digits");
    if (byte === CR) {
      this.#state = State.SizeLf;
      return;
    }
    if (byte === LF) throw badChunk("bare LF in a chunk size line");
    if (byte !== 0x3b && byte !== 0x20 && byte !== 0x09) {
      throw badChunk("chunk size followed by something but extensions");
    }
    this.#line = "";
    this.#state = State.Extension;
    this.#extensionByte(byte);
  }

  #extensionByte(byte: number): void {
    if (byte === CR) {
      if (!EXTENSIONS.test(this.#line)) {
        throw badChunk("malformed chunk extension");
      }
      this.#state = State.SizeLf;
      return;
    }
    if (byte === LF) throw badChunk("bare LF in a chunk size line");
    if (++this.#extensionBytes > this.#maxExtensionBytes) {
      throw new HandshakeError(
        413,
        `more than ${this.#maxExtensionBytes} bytes of chunk extensions`,
      );
    }
    this.#line += String.fromCharCode(byte);
  }

  #trailerByte(byte: number): void {
    if (this.#state === State.TrailerLf) {
      if (byte !== LF) throw badChunk("bare CR in the trailer section");
      if (this.#line === "") {
        this.#state = State.Done;
        return;
      }
      this.#countTrailerBytes(2);
      this.#checkTrailerField(this.#line);
      this.#line = "";
      this.#state = State.Trailer;
      return;
    }
    if (byte === LF) throw badChunk("bare LF in the trailer section");
    if (byte === CR) {
      this.#state = State.TrailerLf;
      return;
    }
    this.#countTrailerBytes(1);
    this.#line += String.fromCharCode(byte);
  }

  /** Counts bytes of trailer fields and their line ends; the blank line after them is free. */
  #countTrailerBytes(count: number): void {
    this.#trailerBytes += count;
    if (this.#trailerBytes > this.#maxTrailerBytes) {
      throw new HandshakeError(
        431,
        `trailer section of more than ${this.#maxTrailerBytes} bytes`,
      );
    }
  }

  /** Checks a trailer line as a field line (RFC 9112 §5), then lets it go. */
  #checkTrailerField(line: string): void {
    if (++this.#trailerCount > this.#maxTrailerCount) {
      throw new HandshakeError(
        431,
        `more than ${this.#maxTrailerCount} trailer fields`,
      );
    }
    const colon = line.indexOf(":");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (colon <= 0 || !isToken(line.slice(0, colon)) || !isFieldValue(value)) {
      throw badChunk(
        `malformed trailer field ${JSON.stringify(line.slice(0, 40))}`,
      );
    }
  }
}

const encoder = new TextEncoder();
/** The CRLF after every chunk's data: shared, so never written into. */
const CRLF = new Uint8Array([CR, LF]);

/**
 * One chunk of a chunked body (RFC 9112 §7.1) for `data`, as three parts to write in order: the
 * size line, `data` itself (not copied), and CRLF (a shared array: never write into it). Empty
 * `data` gives no parts, as a chunk of size 0 would end the body.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeChunk } from "./chunked.ts";
 * const data = new TextEncoder().encode("hello, world");
 * const [size, same, end] = encodeChunk(data);
 * assertEquals(new TextDecoder().decode(size), "c\r\n");
 * assertEquals([same === data, new TextDecoder().decode(end)], [true, "\r\n"]);
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array[] {
  if (data.length === 0) return [];
  return [encoder.encode(`${data.length.toString(16)}\r\n`), data, CRLF];
}

/**
 * The last chunk of a chunked body and its empty trailer section (RFC 9112 §7.1): `0\r\n\r\n`,
 * after which the connection's next response may begin.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { lastChunk } from "./chunked.ts";
 * assertEquals(new TextDecoder().decode(lastChunk()), "0\r\n\r\n");
 * ```
 */
export function lastChunk(): Uint8Array {
  return encoder.encode("0\r\n\r\n");
}
