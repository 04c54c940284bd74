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
  type RequestHead,
  RequestHeadParser,
  requestUrl,
  StoredRequest,
} from "./protocol/http1.ts";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  MIN_READ_BYTES,
} from "./protocol/limits.ts";
import { type WebSocketOptions, webSocketSettings } from "./options.ts";
import { TEST_PAGE } from "./page.ts";
import { listen } from "./runtime/mod.ts";
import {
  closeQuietly,
  hangUp,
  type Listener,
  type NetAddress,
  readHead,
  type Transport,
  writeAll,
} from "./transport.ts";
import {
  type ConnectionSettings,
  errorReporter,
  type Handler,
  WebSocketConnection,
} from "./websocket.ts";

/**
 * Options of {@linkcode serve}. Every limit's default is documented here; those every WebSocket
 * takes (keepalive, idle and slow-consumer deadlines, frame and queue limits) come from
 * {@linkcode WebSocketOptions}.
 */
export interface ServeOptions extends WebSocketOptions {
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
  const settings: Settings = {
    role: "server",
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    ...webSocketSettings(options),
    page: options.page ?? TEST_PAGE,
    handler,
    onError: errorReporter(options.onError),
  };
  const listener = listen({ hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 });
  const handshaking = new Set<Transport>();
  const open = new Set<WebSocketConnection>();
  let stopping = false;
  // Transports not yet ended, and a promise made once shutdown waits for them.
  let active = 0;
  let allEnded: PromiseWithResolvers<void> | undefined;
  const ended = () => {
    if (--active === 0) allEnded?.resolve();
  };
  settings.onEnd = (connection) => {
    open.delete(connection);
    ended();
  };

  const onUpgraded = (connection: WebSocketConnection) => {
    open.add(connection);
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

  // Only the handshake is awaited here; an upgraded connection runs on by itself and reports its
  // end through onEnd, so an idle connection holds no waiting function of the server's.
  const onTransport = async (transport: Transport) => {
    active++;
    handshaking.add(transport);
    let upgraded: Upgraded | null = null;
    try {
      upgraded = await handleRequest(transport, settings);
    } catch (error) {
      settings.onError(error);
    } finally {
      handshaking.delete(transport);
    }
    if (upgraded === null) return ended();
    const { connection, rest, buffer } = upgraded;
    onUpgraded(connection);
    connection.run(rest, buffer);
  };

  const finished = (async () => {
    await acceptLoop(listener, settings, () => stopping, onTransport);
    if (active > 0) {
      allEnded = Promise.withResolvers();
      await allEnded.promise;
    }
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

/** A request that became a WebSocket, ready to run. */
interface Upgraded {
  connection: WebSocketConnection;
  /** The bytes that followed the request head. */
  rest: Uint8Array;
  /** The read buffer, handed on to the connection. */
  buffer: Uint8Array;
}

/**
 * Answers one TCP connection's request: a WebSocket handshake is accepted and the connection
 * returned, anything else is answered and the transport ended (null).
 */
async function handleRequest(transport: Transport, settings: Settings): Promise<Upgraded | null> {
  // A client that opens TCP and then dribbles or stops gets handshakeTimeoutMs, no more.
  const timer = setTimeout(() => closeQuietly(transport), settings.handshakeTimeoutMs);
  let response: Uint8Array;
  // One read buffer serves the request head, then the WebSocket.
  const buffer = new Uint8Array(MIN_READ_BYTES);
  try {
    const { maxHeaderBytes } = settings;
    const request = await readHead(transport, buffer, new RequestHeadParser({ maxHeaderBytes }));
    if (request === null) {
      closeQuietly(transport);
      return null;
    }
    const { head, rest } = request;
    if (isUpgradeRequest(head)) {
      const key = validateUpgradeRequest(head);
      requestUrl(head, "ws"); // 400 for a Host that makes no URL
      // The connection keeps the head as bytes (the read buffer is reused), not parsed.
      const upgrade = new StoredRequest(request.bytes.slice(), "ws");
      await writeAll(transport, acceptResponse(await computeAcceptKey(key)));
      const connection = new WebSocketConnection(transport, upgrade, settings);
      return { connection, rest, buffer };
    }
    response = plainResponse(head, settings.page);
  } catch (error) {
    // A transport that failed mid-handshake (reset, timed out) has no one left to answer.
    if (!(error instanceof HandshakeError)) {
      closeQuietly(transport);
      return null;
    }
    response = handshakeErrorResponse(error);
  } finally {
    clearTimeout(timer);
  }
  try {
    await writeAll(transport, response);
  } catch {
    closeQuietly(transport);
    return null;
  }
  await hangUp(transport, settings.closeTimeoutMs);
  return null;
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
