/**
 * Reading a request's body from the bytes after its head, chunk by chunk, however they are
 * split: the body's bytes as views into the chunks, its end, and what follows it (the next
 * pipelined request), for any {@linkcode BodyFraming}.
 *
 * @module
 */

import type { BodyFraming } from "./body_framing.ts";
import { ChunkedDecoder, type ChunkedDecoderOptions } from "./chunked.ts";

/**
 * What {@linkcode BodyDecoder.push} found in one chunk. Every array in it is a view into that
 * chunk, valid as long as the chunk's bytes are: take or copy them before the read buffer is used
 * again.
 *
 * @example
 * ```ts
 * import type { DecodedBody } from "./body_decoder.ts";
 * const last: DecodedBody = { data: [new Uint8Array([1])], done: true, rest: new Uint8Array() };
 * ```
 */
export interface DecodedBody {
  /** The body's bytes in the chunk, in order; no array in it is empty. */
  readonly data: Uint8Array[];
  /** Whether the body has ended, in this chunk or before it. */
  readonly done: boolean;
  /** The bytes after the body's end: empty until `done`, then the start of what comes next. */
  readonly rest: Uint8Array;
}

/**
 * Reads one request's body; made by {@linkcode createBodyDecoder}.
 *
 * @example
 * ```ts
 * import type { BodyDecoder } from "./body_decoder.ts";
 * const drain = (decoder: BodyDecoder, chunk: Uint8Array) => decoder.push(chunk).rest;
 * ```
 */
export interface BodyDecoder {
  /**
   * Takes the next bytes of the connection. After the body has ended, every chunk is `rest` as
   * it is.
   *
   * @throws {HandshakeError} for a malformed body (400) or one over a limit (413, 431).
   */
  push(chunk: Uint8Array): DecodedBody;
  /** Whether the body has ended: a connection that ends before it has lost part of it. */
  readonly done: boolean;
  /** The body's bytes so far. */
  readonly received: number;
}

/** What a push finds once the body has ended: nothing of it, and the chunk as what follows. */
function after(chunk: Uint8Array): DecodedBody {
  return { data: [], done: true, rest: chunk };
}

/**
 * Reads a body of a known length (RFC 9112 §6.2): the next `length` bytes, whatever they hold.
 *
 * @example A body of 3 bytes, then the next request
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LengthDecoder } from "./body_decoder.ts";
 * const decoder = new LengthDecoder(3);
 * assertEquals(decoder.push(new Uint8Array([1, 2])).data, [new Uint8Array([1, 2])]);
 * const last = decoder.push(new Uint8Array([3, 71, 69]));
 * assertEquals([last.data, last.done, last.rest], [[new Uint8Array([3])], true, new Uint8Array([71, 69])]);
 * ```
 */
export class LengthDecoder implements BodyDecoder {
  readonly #length: number;
  #received = 0;

  /** Creates a decoder for a body of `length` bytes; 0 is a body that has already ended. */
  constructor(length: number) {
    this.#length = length;
  }

  /** Takes the next bytes; see {@linkcode BodyDecoder.push}. */
  push(chunk: Uint8Array): DecodedBody {
    const wanted = this.#length - this.#received;
    if (wanted === 0) return after(chunk);
    if (chunk.length === 0) return { data: [], done: false, rest: chunk };
    const taken = Math.min(wanted, chunk.length);
    this.#received += taken;
    const data = [taken === chunk.length ? chunk : chunk.subarray(0, taken)];
    return { data, done: taken === wanted, rest: chunk.subarray(taken) };
  }

  /** Whether all `length` bytes have come. */
  get done(): boolean {
    return this.#received === this.#length;
  }

  /** The body's bytes so far. */
  get received(): number {
    return this.#received;
  }
}

/**
 * A decoder for a body framed as `framing`: a {@linkcode LengthDecoder} for `none` (of 0 bytes)
 * and `length`, a {@linkcode ChunkedDecoder} with `options` for `chunked`.
 *
 * @example A chunked body and the next request in one read
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createBodyDecoder } from "./body_decoder.ts";
 * const decoder = createBodyDecoder({ kind: "chunked" });
 * const { data, done, rest } = decoder.push(new TextEncoder().encode("2\r\nhi\r\n0\r\n\r\nGET"));
 * assertEquals(new TextDecoder().decode(data[0]), "hi");
 * assertEquals([done, new TextDecoder().decode(rest)], [true, "GET"]);
 * ```
 */
export function createBodyDecoder(
  framing: BodyFraming,
  options: ChunkedDecoderOptions = {},
): BodyDecoder {
  switch (framing.kind) {
    case "none":
      return new LengthDecoder(0);
    case "length":
      return new LengthDecoder(framing.length);
    case "chunked":
      return new ChunkedDecoder(options);
  }
}
