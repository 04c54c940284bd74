/**
 * What reading a request's body gives for each chunk of the connection (the body's bytes, its
 * end, what follows it), and the one interface of the decoders that read it: the length
 * decoder (`body_decoder.ts`) and the chunked one (`chunked.ts`).
 *
 * @module
 */

/**
 * What {@linkcode BodyDecoder.push} found in one chunk. Every array in it is a view into that
 * chunk, valid as long as the chunk's bytes are: take or copy them before the read buffer is used
 * again.
 *
 * @example
 * ```ts
 * import type { DecodedBody } from "./decoded_body.ts";
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
 * Reads one request's body; `body_decoder.ts`'s `createBodyDecoder` makes one for any framing.
 *
 * @example
 * ```ts
 * import type { BodyDecoder } from "./decoded_body.ts";
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
