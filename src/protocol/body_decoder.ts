/**
 * Reading a request's body from the bytes after its head, chunk by chunk, however they are
 * split: the body's bytes as views into the chunks, its end, and what follows it (the next
 * pipelined request), for any {@linkcode BodyFraming}.
 *
 * @module
 */

import type { BodyFraming } from "./body_framing.ts";
import { ChunkedDecoder, type ChunkedDecoderOptions } from "./chunked.ts";
import type { BodyDecoder, DecodedBody } from "./decoded_body.ts";

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
