/**
 * One plain HTTP request answered by the application: the request as a fetch `Request`, its body
 * streamed from the connection (`request_body.ts`); the call to `fetch`, whose failure is a 500
 * that goes to `onError`; and its `Response` written (`response_writer.ts`). It says whether the
 * connection can carry the next request, and hands on the bytes that followed this one.
 *
 * @module
 */

import { type FetchHandler, RequestInfo } from "./fetch_handler.ts";
import { createBodyDecoder } from "./protocol/body_decoder.ts";
import type { BodyFraming } from "./protocol/body_framing.ts";
import { HandshakeError } from "./protocol/errors.ts";
import { expectsContinue } from "./protocol/expect.ts";
import { handshakeErrorResponse } from "./protocol/handshake.ts";
import type { ParsedHead, RequestHead } from "./protocol/http1.ts";
import { requestUrl } from "./protocol/request.ts";
import type { ReadBuffer } from "./read_loop.ts";
import { RequestBody } from "./request_body.ts";
import { writeResponse } from "./response_writer.ts";
import { type Transport, writeAll } from "./transport.ts";

/** What an exchange needs of its server. */
export interface ExchangeSettings {
  /** The application. */
  fetch: FetchHandler<unknown>;
  /** The largest request body, in bytes. */
  maxBodyBytes: number;
  /** The scheme of request URLs: `https` over TLS. */
  scheme: "http" | "https";
  /** Hears of the application's failures. */
  onError: (error: unknown) => void;
}

/**
 * How an exchange left the connection: open, with the bytes that followed the request (the next
 * one's start), or to be ended, after the read still under way, if any, has settled.
 */
export type ExchangeOutcome =
  | { keepAlive: true; rest: Uint8Array }
  | { keepAlive: false; reading: Promise<unknown> | null };

/**
 * Answers the plain request `parsed`, whose body is framed as `framing`, with what
 * `settings.fetch` returns. `keepAlive` says, as the response head is about to go, whether the
 * server would keep the connection (false once it is shutting down); the connection is kept only
 * if the whole request body has also been read by then. Once `abandoned` rejects (the server
 * stopped waiting and closed the connection), a `fetch` still at work is no longer waited for,
 * and a response body still streaming is cancelled.
 *
 * A request the server refuses before the application sees it (a `Host` that makes no URL, an
 * unmet `Expect`, a malformed start of its body, a method a fetch `Request` cannot carry) is
 * answered with its status and the connection ends; so is one whose body turns out malformed or
 * too large while the application reads it, whatever the application answers.
 *
 * @example
 * ```ts ignore
 * import { exchange } from "./http_exchange.ts";
 * const outcome = await exchange(transport, buffer, parsed, framing, settings, () => true);
 * if (outcome.keepAlive) console.log("next request starts with", outcome.rest);
 * ```
 */
export async function exchange(
  transport: Transport,
  buffer: ReadBuffer,
  parsed: ParsedHead<RequestHead>,
  framing: BodyFraming,
  settings: ExchangeSettings,
  keepAlive: () => boolean,
  abandoned: Promise<never>,
): Promise<ExchangeOutcome> {
  const { head } = parsed;
  let body: RequestBody;
  let request: Request;
  try {
    const url = requestUrl(head, settings.scheme);
    const hasBody = framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0);
    const continues = expectsContinue(head);
    const decoder = createBodyDecoder(framing, { maxBodyBytes: settings.maxBodyBytes });
    body = new RequestBody(transport, buffer, decoder, parsed.rest, {
      expectsContinue: continues && hasBody,
      // A fetch Request of a GET or HEAD has no body (its constructor refuses one).
      exposed: hasBody && head.method !== "GET" && head.method !== "HEAD",
    });
    request = fetchRequest(head, url, body.stream);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return await refuse(transport, error, null);
  }
  const onError = (error: unknown) => {
    // A body the client broke is the client's error, however it reached the application.
    if (body.error === null || error !== body.error) settings.onError(error);
  };
  let response: Response;
  let givenUp = false;
  try {
    response = await Promise.race([
      settings.fetch(request, new RequestInfo(transport.remoteAddr)),
      abandoned.catch((reason) => {
        givenUp = true;
        throw reason;
      }),
    ]);
    if (!(response instanceof Response)) {
      throw new TypeError(`fetch returned ${typeof response}, not a Response`);
    }
  } catch (error) {
    if (givenUp) return { keepAlive: false, reading: body.stop() };
    if (body.error === null) onError(error);
    response = new Response("internal server error\n", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  if (body.error) return await refuse(transport, body.error, body.stop());
  const keptOn = await writeResponse(transport, response, {
    request: head,
    beforeHead: async () => {
      await body.responseBegins();
      return keepAlive() && body.done;
    },
    onError,
    abandoned,
  });
  if (keptOn && body.done) return { keepAlive: true, rest: body.rest };
  return { keepAlive: false, reading: body.stop() };
}

/** Answers a request the server refuses with its status; the connection ends after it. */
async function refuse(
  transport: Transport,
  error: HandshakeError,
  reading: Promise<unknown> | null,
): Promise<ExchangeOutcome> {
  await reading;
  try {
    await writeAll(transport, handshakeErrorResponse(error));
  } catch {
    // The client is gone.
  }
  return { keepAlive: false, reading: null };
}

/**
 * `headers` as a record, each name once with its values joined: what a `Request` takes fastest on
 * Deno (half the time a `Headers` takes), and about as fast on Bun and Node.
 */
function fieldRecord(headers: Headers): Record<string, string> {
  // No prototype: a field named `constructor` or `__proto__` is a field like any other.
  const record: Record<string, string> = Object.create(null);
  headers.forEach((value, name) => {
    record[name] = name in record ? `${record[name]}, ${value}` : value;
  });
  return record;
}

/** Methods the fetch standard writes in upper case whatever their case (its "normalize"). */
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

/**
 * The fetch `Request` of a plain request.
 *
 * @throws {HandshakeError} 501 for a method a `Request` cannot carry as sent: `CONNECT`, `TRACE`
 * and `TRACK` are forbidden to it, and Bun's turns methods it does not know into `GET`.
 */
function fetchRequest(
  head: RequestHead,
  url: URL,
  body: ReadableStream<Uint8Array> | null,
): Request {
  const expected = NORMALIZED.has(head.method.toUpperCase())
    ? head.method.toUpperCase()
    : head.method;
  let request: Request | null = null;
  try {
    request = new Request(url, {
      method: head.method,
      headers: fieldRecord(head.headers),
      body,
      // Streamed in one direction: the fetch standard asks for it with a stream body.
      duplex: "half",
    } as RequestInit);
  } catch {
    // A forbidden method.
  }
  if (request === null || request.method !== expected) {
    throw new HandshakeError(501, `the method ${head.method} is not supported`);
  }
  return request;
}
