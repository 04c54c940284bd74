/**
 * Writing a fetch `Response` as HTTP/1.1: its head from `protocol/http_response.ts`, then its
 * body framed as the head says (RFC 9112 §6): by `Content-Length` when the body's end is in
 * sight before the head goes, chunked while it streams, up to the end of the connection for an
 * HTTP/1.0 client, and not at all for `HEAD`, 204 and 304.
 *
 * @module
 */

import { concatBytes } from "./protocol/bytes.ts";
import { encodeChunk, lastChunk } from "./protocol/chunked.ts";
import {
  type AnsweredRequest,
  type EncodedResponseHead,
  encodeResponseHead,
} from "./protocol/http_response.ts";
import { type Transport, writeAll } from "./transport.ts";

/** What {@linkcode writeResponse} needs besides the response. */
export interface ResponseContext {
  /** The request answered. */
  request: AnsweredRequest;
  /**
   * Called once, just before the head is written: resolves to whether the server is willing to
   * keep the connection after this response.
   */
  beforeHead(): Promise<boolean>;
  /** Hears of a response that cannot be sent as it is: a bad header, a body that fails. */
  onError(error: unknown): void;
  /** Rejects once the writing is given up: the body is cancelled, nothing more of it waited for. */
  abandoned?: Promise<never>;
}

/**
 * How much of a body is read before its head is written, while it comes without waiting: a body
 * that ends within it (a string, a small file read whole) is sent with `Content-Length`.
 */
const READ_AHEAD_BYTES = 64 * 1024;

/**
 * How many microtask turns a read of the body may take to count as "without waiting": a read of
 * a chunk already queued takes one or two on Deno, Bun and Node. One that takes longer waits for
 * the application, and the head is not held back for it (an event stream's first event).
 */
const SOON_TURNS = 8;

/** Parts of this size are written on their own rather than copied into a joint write. */
const WRITE_AS_IS_MIN_BYTES = 16 * 1024;

const encoder = new TextEncoder();
const INTERNAL_ERROR = encoder.encode("internal server error\n");

/** What {@linkcode readAhead} found of a body before any of it is written. */
interface ReadAhead {
  chunks: Uint8Array[];
  bytes: number;
  /** Whether the body ended among them. */
  ended: boolean;
  /** A read that did not settle soon, still under way; the body goes on from it. */
  next: Promise<ReadableStreamReadResult<Uint8Array>> | null;
}

/**
 * Writes `response` to `transport` as the answer to `context.request`. The application's header
 * fields are written as it gave them (names as `Headers` iterates them, lower-case), with a
 * `Date` unless it gave one (RFC 9110 §6.6.1); the framing fields are the server's own. A
 * response that cannot be sent (a `Content-Length` that contradicts its body, a body chunk that
 * is not bytes, a body that fails before its head) is answered 500 instead and goes to
 * `onError`; a body that fails, or breaks its length, once the head is out ends the connection.
 *
 * Resolves to whether the connection may carry another request.
 *
 * @example
 * ```ts ignore
 * import { writeResponse } from "./response_writer.ts";
 * const request = { method: "GET", version: "HTTP/1.1", headers: new Headers() };
 * const keepOn = await writeResponse(transport, new Response("hello"), {
 *   request,
 *   beforeHead: () => Promise.resolve(true),
 *   onError: console.error,
 * });
 * ```
 */
export async function writeResponse(
  transport: Transport,
  response: Response,
  context: ResponseContext,
): Promise<boolean> {
  const reader = response.body?.getReader() ?? null;
  // Cancelling ends a read that waits: the body is written no further.
  context.abandoned?.catch((reason) => reader?.cancel(reason).catch(() => {}));
  return await write(transport, response, reader, context);
}

async function write(
  transport: Transport,
  response: Response,
  reader: ReadableStreamDefaultReader<Uint8Array> | null,
  context: ResponseContext,
): Promise<boolean> {
  let ahead: ReadAhead = { chunks: [], bytes: 0, ended: true, next: null };
  let failure: unknown = null;
  try {
    if (reader) ahead = await readAhead(reader);
  } catch (error) {
    failure = error;
  }
  const keepAlive = await context.beforeHead();
  let head: EncodedResponseHead | null = null;
  if (failure === null) {
    try {
      head = encodeResponseHead({
        status: response.status,
        statusText: response.statusText,
        headers: withDate(response.headers),
        bodyLength: ahead.ended ? ahead.bytes : null,
        request: context.request,
        keepAlive,
      });
    } catch (error) {
      failure = error;
    }
  }
  try {
    if (head === null) {
      context.onError(failure);
      reader?.cancel(failure).catch(() => {});
      return await writeInternalError(transport, context.request, keepAlive);
    }
    return await writeBody(transport, head, ahead, reader, context.onError);
  } catch {
    // The client is gone: a write failed.
    reader?.cancel().catch(() => {});
    return false;
  }
}

/** Writes the 500 that replaces a response that cannot be sent. */
async function writeInternalError(
  transport: Transport,
  request: AnsweredRequest,
  keepAlive: boolean,
): Promise<boolean> {
  const head = encodeResponseHead({
    status: 500,
    headers: withDate(new Headers({ "content-type": "text/plain; charset=utf-8" })),
    bodyLength: INTERNAL_ERROR.length,
    request,
    keepAlive,
  });
  const body = head.framing === "none" ? [] : [INTERNAL_ERROR];
  await writeAll(transport, concatBytes([head.bytes, ...body]));
  return !head.close;
}

/** Writes the head, then the body as it comes, framed as `head` says. */
async function writeBody(
  transport: Transport,
  head: EncodedResponseHead,
  ahead: ReadAhead,
  reader: ReadableStreamDefaultReader<Uint8Array> | null,
  onError: (error: unknown) => void,
): Promise<boolean> {
  const { framing } = head;
  if (framing === "none") {
    reader?.cancel().catch(() => {});
    await writeAll(transport, head.bytes);
    return !head.close;
  }
  // Bytes the head's Content-Length still allows.
  let allowed = framing === "length" ? head.length : Infinity;
  const frame = (chunk: Uint8Array): Uint8Array[] =>
    framing === "chunked" ? encodeChunk(chunk) : [chunk];
  const parts = [head.bytes];
  for (const chunk of ahead.chunks) {
    parts.push(...frame(chunk.subarray(0, allowed)));
    allowed -= chunk.length;
  }
  let ended = ahead.ended;
  let next = ahead.next;
  while (!ended && reader && allowed >= 0) {
    await writeParts(transport, parts.splice(0));
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await (next ?? reader.read());
      next = null;
      if (!result.done) checkChunk(result.value);
    } catch (error) {
      onError(error);
      reader.cancel(error).catch(() => {});
      return false;
    }
    if (result.done) ended = true;
    else {
      parts.push(...frame(result.value.subarray(0, Math.max(allowed, 0))));
      allowed -= result.value.length;
    }
  }
  if (framing === "chunked" && ended) parts.push(lastChunk());
  await writeParts(transport, parts);
  if (allowed !== 0 && allowed !== Infinity) {
    // RFC 9112 §6.3: a body that does not match its length cannot be delimited; the connection
    // ends, which the client sees as an incomplete message.
    reader?.cancel().catch(() => {});
    onError(
      new TypeError(
        `a response body of ${allowed < 0 ? "more" : "fewer"} bytes than its Content-Length`,
      ),
    );
    return false;
  }
  return !head.close && framing !== "close";
}

/**
 * Reads what of a body comes without waiting, up to about {@linkcode READ_AHEAD_BYTES}, and one
 * read more, to see whether the body ends there.
 */
async function readAhead(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadAhead> {
  const ahead: ReadAhead = { chunks: [], bytes: 0, ended: false, next: null };
  for (let more = true;;) {
    const read = reader.read();
    const result = await soon(read);
    if (result === null) return { ...ahead, next: read };
    if (result.done) return { ...ahead, ended: true };
    ahead.chunks.push(checkChunk(result.value));
    ahead.bytes += result.value.length;
    if (!more) return ahead;
    if (ahead.bytes > READ_AHEAD_BYTES) more = false;
  }
}

/**
 * What `promise` resolves to, if it settles within {@linkcode SOON_TURNS} microtask turns;
 * else null. It rejects as `promise` does, if that is soon.
 */
async function soon<T>(promise: Promise<T>): Promise<T | null> {
  let outcome: { value: T } | { error: unknown } | null = null;
  promise.then((value) => void (outcome = { value }), (error) => void (outcome = { error }));
  for (let turn = 0; turn < SOON_TURNS && outcome === null; turn++) await null;
  const settled = outcome as { value: T } | { error: unknown } | null;
  if (settled === null) return null;
  if ("error" in settled) throw settled.error;
  return settled.value;
}

/** A body chunk, which must be bytes (the fetch standard's `Response` body is bytes). */
function checkChunk(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new TypeError(`a response body gave ${typeof chunk}, not a Uint8Array`);
  }
  return chunk;
}

/** Writes `parts` in order, runs of small parts joined into one write. */
async function writeParts(transport: Transport, parts: Uint8Array[]): Promise<void> {
  let start = 0;
  for (let i = 0; i <= parts.length; i++) {
    if (i < parts.length && parts[i].length < WRITE_AS_IS_MIN_BYTES) continue;
    if (start < i) await writeAll(transport, concatBytes(parts.slice(start, i)));
    if (i < parts.length) await writeAll(transport, parts[i]);
    start = i + 1;
  }
}

let dateSecond = -1;
let dateText = "";

/**
 * The fields of `headers`, with a `Date` (RFC 9110 §6.6.1, IMF-fixdate) unless they have one.
 * Read with `forEach`, which costs Deno a fifth of what its iterator does.
 */
function withDate(headers: Headers): [string, string][] {
  const fields: [string, string][] = [];
  let dated = false;
  headers.forEach((value, name) => {
    fields.push([name, value]);
    if (name === "date") dated = true;
  });
  if (dated) return fields;
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  fields.push(["date", dateText]);
  return fields;
}
