/**
 * `connect()`: opens a WebSocket to a server — TCP, the upgrade request, the checks of the
 * response (RFC 6455 §4.1) — and runs it from the client's end with the same
 * `WebSocketConnection` the server runs its connections with.
 *
 * @module
 */

import { acceptedDeflate, type DeflateOption, deflateOptionSettings } from "./compression.ts";
import { type DeflateCodec, deflateSupported } from "./protocol/deflate.ts";
import { deflateOffer } from "./protocol/permessage_deflate.ts";
import {
  generateKey,
  upgradeRequest,
  validateUpgradeResponse,
  webSocketUrl,
} from "./protocol/client_handshake.ts";
import { UpgradeFailedError } from "./protocol/errors.ts";
import { parseRequestHead, ResponseHeadParser } from "./protocol/http1.ts";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./protocol/limits.ts";
import { MIN_READ_BYTES } from "./read_loop.ts";
import { type WebSocketOptions, webSocketSettings } from "./options.ts";
import { runtime } from "./runtime/mod.ts";
import { Deadline } from "./deadline.ts";
import { readHead } from "./http_io.ts";
import { closeQuietly, type NetAddress, type Transport, writeAll } from "./transport.ts";
import {
  errorReporter,
  type Handler,
  type StreamHandler,
  WebSocketConnection,
} from "./websocket.ts";
import type { Message } from "./protocol/message.ts";

/**
 * Options of {@linkcode connect}. Every limit's default is documented here; those every WebSocket
 * takes (keepalive, idle and slow-consumer deadlines, frame and queue limits) come from
 * {@linkcode WebSocketOptions}, as for a server.
 */
export interface ConnectOptions extends WebSocketOptions {
  /**
   * Subprotocols to offer, most preferred first; the server's choice is the connection's
   * `protocol`. @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Extra header fields of the upgrade request (`Authorization`, `Origin`, `Cookie` …), sent with
   * lower-case names; the handshake's own fields cannot be given. @default {{}}
   */
  headers?: HeadersInit;
  /**
   * Receives each message and returns the replies, as `serve()`'s handler does; or the streams
   * the messages go through (a `TransformStream<Message, Message>`, or a
   * {@linkcode StreamHandler}), whose output is sent. Without one, messages are read with the
   * connection's `receive()`, `for await` or `readable`.
   * @default none
   */
  handler?: Handler | StreamHandler | ReadableWritablePair<Message, Message>;
  /**
   * Aborts the opening: until the connection is open, `connect()` then rejects with the signal's
   * reason and ends TCP; once it is open, the signal has no effect. @default none
   */
  signal?: AbortSignal;
  /**
   * Hears of the handler's errors; the connection is then closed with 1011.
   * @default {console.error}
   */
  onError?: (error: unknown, connection?: WebSocketConnection) => void;
  /** The largest message accepted, in bytes; larger ones close with 1009. @default {64 MiB} */
  maxMessageBytes?: number;
  /**
   * Offer permessage-deflate (RFC 7692): `true` with the defaults of `DeflateOptions`, an object
   * to tune the offer. If the server accepts, the connection's `extensions` says so, messages of
   * at least `threshold` bytes are sent compressed, and compressed ones are inflated up to
   * `maxMessageBytes`. @default {false}
   */
  deflate?: DeflateOption;
  /** The largest HTTP response head, in bytes; a larger one fails the upgrade. @default {16 KiB} */
  maxHeaderBytes?: number;
  /**
   * How long connecting, sending the request and receiving the response may take, in
   * milliseconds; 0 for no limit. @default {10000}
   */
  handshakeTimeoutMs?: number;
  /**
   * How long the close handshake, and then the server's ending of TCP, may take before TCP is
   * ended anyway, in milliseconds; 0 for no limit. @default {10000}
   */
  closeTimeoutMs?: number;
  /**
   * For `wss://`: certificate authorities to trust besides the system's, PEM (a private CA, or a
   * self-signed server certificate). The server's certificate must also be for the URL's host.
   * @default {[]}
   */
  caCerts?: readonly string[];
}

/**
 * Opens a WebSocket to `url` (`ws://`, or `wss://` over TLS) and resolves once it is open. Its messages go to `options.handler`, or wait for `receive()` and `for await`; `send`,
 * `close`, `closed`, `state`, `bufferedAmount` and `protocol` are the server's connection's.
 *
 * @throws {TypeError} for a URL that is not `ws://` or `wss://`, or an invalid subprotocol or
 * header.
 * @throws {UpgradeFailedError} when the server does not answer with a valid `101` in time.
 * @throws the runtime's error when TCP cannot connect (on Deno, `Deno.errors.ConnectionRefused` …).
 *
 * @example Send, then read the reply
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { connect } from "./client.ts";
 * import { serve } from "./server.ts";
 * const server = serve({ port: 0, hostname: "127.0.0.1" }, (message) => `echo: ${message}`);
 * const connection = await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * await connection.send("hi");
 * assertEquals(await connection.receive(), "echo: hi");
 * await connection.close(1000, "done");
 * await server.shutdown();
 * ```
 */
export async function connect(
  url: string | URL,
  options: ConnectOptions = {},
): Promise<WebSocketConnection> {
  const target = webSocketUrl(url);
  const key = generateKey();
  const protocols = options.protocols ?? [];
  // Checked even where it cannot be offered: a bad option fails the call on every runtime.
  const wanted = deflateOptionSettings(options.deflate, "client");
  const deflate = deflateSupported() ? wanted : null;
  const extensions = deflate ? deflateOffer(deflate) : "";
  const request = upgradeRequest({
    url: target,
    key,
    protocols,
    extensions,
    headers: options.headers,
  });
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  // Checked before anything is sent: a bad option fails the call, not the connection later.
  const settings = webSocketSettings(options);
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const { signal } = options;
  signal?.throwIfAborted();

  const deadline = new Deadline(
    timeoutMs,
    () => new UpgradeFailedError(null, `no handshake within ${timeoutMs} ms`),
  );
  const abort = () => deadline.cut(signal!.reason);
  signal?.addEventListener("abort", abort, { once: true });
  const tls = target.protocol === "wss:" ? { caCerts: options.caCerts } : undefined;
  const connecting = runtime.connect(tcpAddress(target), tls);
  // One read buffer serves the response head, then the WebSocket.
  const buffer = new Uint8Array(MIN_READ_BYTES);
  let transport: Transport | undefined;
  let opened: { rest: Uint8Array; protocol: string; extensions: string; codec?: DeflateCodec };
  try {
    transport = await deadline.race(connecting);
    await deadline.race(writeAll(transport, request));
    const parser = new ResponseHeadParser({ maxHeaderBytes });
    const response = await deadline.race(readHead(transport, buffer, parser));
    if (response === null) {
      throw new UpgradeFailedError(null, "the server closed the connection without a response");
    }
    const { head } = response;
    const protocol = await deadline.race(
      validateUpgradeResponse(head, key, protocols, deflate !== null),
    );
    const accepted = deflate && acceptedDeflate(head.headers, deflate);
    opened = { rest: response.rest, protocol, extensions: accepted?.response ?? "" };
    if (accepted) opened.codec = accepted.codec;
  } catch (error) {
    // Ends a read or write still in progress; a connection made after the deadline is unused.
    if (transport) closeQuietly(transport);
    else connecting.then(closeQuietly, () => {});
    throw error;
  } finally {
    deadline.clear();
    signal?.removeEventListener("abort", abort);
  }

  const onError = errorReporter(options.onError);
  const connection = new WebSocketConnection(
    transport,
    // The request's header fields as sent, read back.
    {
      url: target,
      headers: parseRequestHead(request).headers,
      protocol: opened.protocol,
      extensions: opened.extensions,
    },
    {
      role: "client",
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
      ...settings,
      handler: clientHandler(options.handler),
      onError,
    },
    opened.codec,
  );
  // It runs on by itself until closed; run() reports its own errors and never rejects.
  connection.run(opened.rest, buffer);
  return connection;
}

/** The handler of a client's one connection: a pair of streams is that connection's. */
function clientHandler(handler: ConnectOptions["handler"]): Handler | StreamHandler | undefined {
  if (handler === undefined || typeof handler === "function" || "stream" in handler) {
    return handler;
  }
  return { stream: () => handler };
}

/**
 * Where a URL's server listens: its host (an IPv6 one without brackets), and its port, else 443
 * for `wss://` and 80 for `ws://`.
 */
function tcpAddress(url: URL): NetAddress {
  const port = Number(url.port || (url.protocol === "wss:" ? 443 : 80));
  return { hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}
