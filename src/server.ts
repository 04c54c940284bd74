/**
 * `serve()`: accepts TCP connections, answers each request — a WebSocket handshake, the test
 * page, or an HTTP error — and runs every WebSocket with the handler, all concurrently.
 *
 * @module
 */

import { CloseCode } from "./protocol/close.ts";
import { HandshakeError } from "./protocol/errors.ts";
import {
  acceptResponse,
  computeAcceptKey,
  handshakeErrorResponse,
  httpResponse,
  isUpgradeRequest,
  validateUpgradeRequest,
} from "./protocol/handshake.ts";
import {
  type ParsedRequest,
  type RequestHead,
  RequestHeadParser,
  requestUrl,
} from "./protocol/http1.ts";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  MIN_READ_BYTES,
} from "./protocol/limits.ts";
import { TEST_PAGE } from "./page.ts";
import { listen } from "./runtime/mod.ts";
import {
  closeQuietly,
  hangUp,
  type Listener,
  type NetAddress,
  type Transport,
  writeAll,
} from "./transport.ts";
import { type ConnectionSettings, type Handler, WebSocketConnection } from "./websocket.ts";

/** Options of {@linkcode serve}. Every limit's default is documented here. */
export interface ServeOptions {
  /** The TCP port; 0 picks a free one. @default {8000} */
  port?: number;
  /** The interface to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** The largest message accepted, in bytes; larger ones close with 1009. @default {64 MiB} */
  maxMessageBytes?: number;
  /** The largest HTTP request head, in bytes; larger ones get 431. @default {16 KiB} */
  maxHeaderBytes?: number;
  /**
   * How long the close handshake may take before TCP is ended anyway, and how long an HTTP
   * response waits for the client to hang up, in milliseconds. @default {10000}
   */
  closeTimeoutMs?: number;
  /**
   * The HTML served for a plain `GET /`; `false` answers it with 404 like every other path.
   * @default the built-in test page
   */
  page?: string | false;
  /**
   * How long a client has to send its request head, in milliseconds; then TCP is ended.
   * @default {10000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Called once each WebSocket is open, before its first message. If it throws or rejects, the
   * error goes to `onError` and the connection is closed with 1011.
   */
  onOpen?: (connection: WebSocketConnection) => void | Promise<void>;
  /**
   * Hears of errors: a handler's (with its connection, which is then closed with 1011), and the
   * server's own unexpected ones. @default {console.error}
   */
  onError?: (error: unknown, connection?: WebSocketConnection) => void;
}

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * const server = serve({ port: 0 }, (message) => message);
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export interface Server {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddress;
  /** Resolves once the server has stopped and every connection has ended. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, closes every WebSocket with 1001 (waiting up to `closeTimeoutMs` for each
   * close handshake), and resolves once all connections have ended.
   */
  shutdown(): Promise<void>;
}

/** What every connection of one server shares: options resolved to their defaults. */
interface Settings extends ConnectionSettings {
  maxHeaderBytes: number;
  handshakeTimeoutMs: number;
  page: string | false;
}

/**
 * Serves WebSockets: every message goes to `handler`, and what it returns is sent back.
 *
 * @throws {ListenError} when the address cannot be listened on (the port is taken, say).
 *
 * @example An echo server on a free port
 * ```ts
 * import { serve } from "./server.ts";
 * const server = serve({ port: 0, hostname: "127.0.0.1" }, (message) => message);
 * const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * const reply = await new Promise((resolve) => {
 *   socket.onopen = () => socket.send("hi");
 *   socket.onmessage = (event) => resolve(event.data);
 * });
 * socket.close();
 * await server.shutdown();
 * console.log(reply); // "hi"
 * ```
 */
export function serve(options: ServeOptions, handler: Handler): Server {
  const onError = options.onError ??
    ((error, connection) => console.error(connection ? "handler error:" : "error:", error));
  const settings: Settings = {
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    page: options.page ?? TEST_PAGE,
    handler,
    // An error hook that throws must not take the server down with it.
    onError(error, connection) {
      try {
        onError(error, connection);
      } catch (hookError) {
        console.error("onError threw:", hookError, "while reporting:", error);
      }
    },
  };
  const listener = listen({ hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 });
  const tasks = new Set<Promise<void>>();
  const handshaking = new Set<Transport>();
  const open = new Set<WebSocketConnection>();
  let stopping = false;

  const onUpgraded = (transport: Transport, connection: WebSocketConnection) => {
    handshaking.delete(transport);
    open.add(connection);
    connection.closed.finally(() => open.delete(connection));
    if (stopping) {
      connection.close(CloseCode.GoingAway, "server shutting down");
      return;
    }
    const fail = (error: unknown) => {
      settings.onError(error, connection);
      if (connection.state === "open") connection.close(CloseCode.InternalError);
    };
    try {
      const opened = options.onOpen?.(connection);
      if (opened instanceof Promise) opened.catch(fail);
    } catch (error) {
      fail(error);
    }
  };

  const onTransport = (transport: Transport) => {
    handshaking.add(transport);
    const task = handleTransport(transport, settings, onUpgraded)
      .catch((error) => settings.onError(error))
      .finally(() => {
        handshaking.delete(transport);
        tasks.delete(task);
      });
    tasks.add(task);
  };

  const finished = (async () => {
    await acceptLoop(listener, settings, () => stopping, onTransport);
    while (tasks.size > 0) await Promise.allSettled([...tasks]);
  })();

  return {
    addr: listener.addr,
    finished,
    shutdown(): Promise<void> {
      if (!stopping) {
        stopping = true;
        listener.close();
        // Requests still arriving get no answer: the server is going away.
        for (const transport of handshaking) closeQuietly(transport);
        for (const connection of open) {
          connection.close(CloseCode.GoingAway, "server shutting down");
        }
      }
      return finished;
    },
  };
}

/** Accepts until the listener is closed; a failed accept (out of descriptors) is reported, not fatal. */
async function acceptLoop(
  listener: Listener,
  settings: Settings,
  stopping: () => boolean,
  onTransport: (transport: Transport) => void,
): Promise<void> {
  while (!stopping()) {
    let transport: Transport;
    try {
      transport = await listener.accept();
    } catch (error) {
      if (stopping()) return;
      settings.onError(error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // Accepted as shutdown() began: nobody would close it.
    if (stopping()) return closeQuietly(transport);
    onTransport(transport);
  }
}

/** Answers one TCP connection's request and, if it upgrades, runs the WebSocket to its end. */
async function handleTransport(
  transport: Transport,
  settings: Settings,
  onUpgraded: (transport: Transport, connection: WebSocketConnection) => void,
): Promise<void> {
  // A client that opens TCP and then dribbles or stops gets handshakeTimeoutMs, no more.
  const timer = setTimeout(() => closeQuietly(transport), settings.handshakeTimeoutMs);
  let response: Uint8Array;
  // One read buffer serves the request head, then the WebSocket.
  const buffer = new Uint8Array(MIN_READ_BYTES);
  try {
    const request = await readRequest(transport, buffer, settings.maxHeaderBytes);
    if (request === null) return closeQuietly(transport);
    const { head, rest } = request;
    if (isUpgradeRequest(head)) {
      const key = validateUpgradeRequest(head);
      const url = requestUrl(head, "ws");
      await writeAll(transport, acceptResponse(await computeAcceptKey(key)));
      clearTimeout(timer);
      const connection = new WebSocketConnection(
        transport,
        { url, headers: head.headers },
        settings,
      );
      onUpgraded(transport, connection);
      return await connection.run(rest, buffer);
    }
    response = plainResponse(head, settings.page);
  } catch (error) {
    // A transport that failed mid-handshake (reset, timed out) has no one left to answer.
    if (!(error instanceof HandshakeError)) return closeQuietly(transport);
    response = handshakeErrorResponse(error);
  } finally {
    clearTimeout(timer);
  }
  try {
    await writeAll(transport, response);
  } catch {
    return closeQuietly(transport);
  }
  await hangUp(transport, settings.closeTimeoutMs);
}

/** Reads until the request head is complete; null when the client hangs up first. */
async function readRequest(
  transport: Transport,
  buffer: Uint8Array,
  maxHeaderBytes: number,
): Promise<ParsedRequest | null> {
  const parser = new RequestHeadParser({ maxHeaderBytes });
  while (true) {
    const count = await transport.read(buffer);
    if (count === null) return null;
    const request = parser.push(buffer.subarray(0, count));
    if (request) return request;
  }
}

/** The answer to a request that does not ask for a WebSocket. */
function plainResponse(head: RequestHead, page: string | false): Uint8Array {
  if (head.method !== "GET" && head.method !== "HEAD") {
    return httpResponse(405, "method not allowed\n", { headers: { Allow: "GET, HEAD" } });
  }
  const omitBody = head.method === "HEAD";
  if (requestUrl(head, "http").pathname !== "/" || page === false) {
    return httpResponse(404, "not found\n", { omitBody });
  }
  return httpResponse(200, page, { contentType: "text/html; charset=utf-8", omitBody });
}
