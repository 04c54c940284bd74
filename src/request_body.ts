/**
 * A plain request's body as the application reads it: a `ReadableStream` that reads the
 * connection only when the application pulls, so TCP pushes back on a client that sends faster
 * than it is read; the body's framing decoded on the way (`protocol/body_decoder.ts`); the
 * `100 Continue` a waiting client needs, sent before the first read; and the bytes that followed
 * the body, where the connection's next request begins.
 *
 * @module
 */

import type { BodyDecoder } from "./protocol/decoded_body.ts";
import { HandshakeError } from "./protocol/errors.ts";
import { continueResponse } from "./protocol/expect.ts";
import type { ReadBuffer } from "./read_loop.ts";
import { type Transport, writeAll } from "./transport.ts";

/** Options of {@linkcode RequestBody}. */
export interface RequestBodyOptions {
  /** Whether the client waits for `100 Continue` before it sends the body (RFC 9110 §10.1.1). */
  expectsContinue: boolean;
  /**
   * Whether the application is given the body as a stream. A body it is not given (a GET's: a
   * fetch `Request` cannot carry one) is decoded and dropped.
   */
  exposed: boolean;
}

const NOTHING: Uint8Array = new Uint8Array(0);

/**
 * One request's body, read from `transport` as the application pulls on {@linkcode stream}.
 *
 * Whatever of the body came with the head is decoded at once, so a malformed start of a body
 * (a bad chunk size) is refused before the application sees the request. Each chunk handed to
 * the application is its own copy, as the read buffer is reused.
 *
 * @example A body that came whole with its head, and the next request after it
 * ```ts ignore
 * import { createBodyDecoder } from "./protocol/body_decoder.ts";
 * import { ReadBuffer } from "./read_loop.ts";
 * import { RequestBody } from "./request_body.ts";
 * const buffered = new TextEncoder().encode("hiGET / HTTP/1.1\r\n");
 * const decoder = createBodyDecoder({ kind: "length", length: 2 });
 * const body = new RequestBody(transport, new ReadBuffer(), decoder, buffered, {
 *   expectsContinue: false,
 *   exposed: true,
 * });
 * console.log(body.done, await new Response(body.stream).text()); // true "hi"
 * ```
 */
export class RequestBody {
  /** The body as the application reads it; null when it is not {@linkcode RequestBodyOptions.exposed}. */
  readonly stream: ReadableStream<Uint8Array> | null;
  readonly #transport: Transport;
  readonly #buffer: ReadBuffer;
  readonly #decoder: BodyDecoder;
  readonly #exposed: boolean;
  /** Body bytes decoded and not yet handed to the application. */
  #pending: Uint8Array[] = [];
  #rest: Uint8Array = NOTHING;
  #error: HandshakeError | null = null;
  /** `owed` until sent before the first read; `none` once the final response has begun. */
  #continue: "owed" | "sent" | "none";
  #continueWritten: Promise<void> = Promise.resolve();
  /** A read of the transport under way, if any. */
  #reading: Promise<unknown> | null = null;
  /** Whether the body will be read no further: the exchange is over. */
  #stopped = false;

  /**
   * Reads the body of the request whose head `buffered` followed; `decoder` is made for its
   * framing.
   *
   * @throws {HandshakeError} for a malformed body, or one over a limit, in `buffered`.
   */
  constructor(
    transport: Transport,
    buffer: ReadBuffer,
    decoder: BodyDecoder,
    buffered: Uint8Array,
    options: RequestBodyOptions,
  ) {
    this.#transport = transport;
    this.#buffer = buffer;
    this.#decoder = decoder;
    this.#exposed = options.exposed;
    // The head parser's rest is a copy of its own: views into it need no copy.
    this.#take(buffered, false);
    // RFC 9110 §10.1.1: a client that sent part of the body is not waiting any more.
    const waiting = options.expectsContinue && buffered.length === 0 && !decoder.done;
    this.#continue = waiting ? "owed" : "none";
    this.stream = this.#exposed
      ? new ReadableStream<Uint8Array>({
        pull: (controller) => this.#pull(controller),
        cancel: () => void (this.#stopped = true),
      }, { highWaterMark: 0 })
      : null;
  }

  /** Whether the whole body has been read from the connection. */
  get done(): boolean {
    return this.#decoder.done;
  }

  /** Why the body was refused while it was read (400, 413), or null. */
  get error(): HandshakeError | null {
    return this.#error;
  }

  /** The bytes that followed the body, once it is {@linkcode done}: the next request's start. */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Says that the final response is about to be written: no `100 Continue` may follow it
   * (RFC 9110 §15.2). Resolves once one already under way is written, so it goes first.
   */
  responseBegins(): Promise<void> {
    if (this.#continue === "owed") this.#continue = "none";
    return this.#continueWritten;
  }

  /**
   * Reads no more of the body: the exchange is over. Returns the read still under way, which
   * whoever reads the transport next must wait for, or null.
   */
  stop(): Promise<unknown> | null {
    this.#stopped = true;
    return this.#reading;
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.#pending.length === 0 && !this.#decoder.done) {
      if (this.#stopped) {
        return controller.error(new TypeError("the response was sent: the body is not read on"));
      }
      if (this.#continue === "owed") {
        this.#continue = "sent";
        this.#continueWritten = writeAll(this.#transport, continueResponse()).catch(() => {});
        await this.#continueWritten;
      }
      const reading = this.#read();
      this.#reading = reading;
      let more: boolean;
      try {
        more = await reading;
      } catch (error) {
        if (error instanceof HandshakeError) this.#error = error;
        return controller.error(error);
      } finally {
        this.#reading = null;
      }
      if (!more) {
        return controller.error(new TypeError("the connection ended before the request body"));
      }
    }
    for (const data of this.#pending) controller.enqueue(data);
    this.#pending = [];
    if (this.#decoder.done) controller.close();
  }

  /**
   * Reads once and decodes what came; false at the end of the stream (or a failed read). A chunk
   * the runtime hands over (`readChunk`) is kept as it is; bytes read into the shared buffer are
   * copied.
   */
  async #read(): Promise<boolean> {
    const transport = this.#transport;
    const owned = transport.readChunk !== undefined;
    let bytes: Uint8Array | null;
    try {
      if (owned) bytes = await transport.readChunk!();
      else {
        const count = await transport.read(this.#buffer.bytes);
        bytes = count === null ? null : this.#buffer.bytes.subarray(0, count);
        if (count !== null) this.#buffer.used(count);
      }
    } catch {
      return false;
    }
    if (bytes === null) return false;
    if (!this.#stopped) this.#take(bytes, !owned);
    return true;
  }

  /** Decodes `chunk`, keeping the body's bytes for the application; `copy` when it is reused. */
  #take(chunk: Uint8Array, copy: boolean): void {
    const { data, done, rest } = this.#decoder.push(chunk);
    if (this.#exposed) {
      for (const piece of data) {
        this.#pending.push(copy ? piece.slice() : piece);
      }
    }
    if (done) this.#rest = copy ? rest.slice() : rest;
  }
}
