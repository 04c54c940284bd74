/**
 * `serve()`: accepts TCP connections, answers each request — a WebSocket handshake, the test
 * page, or an HTTP error — and runs every WebSocket with the handler, all concurrently.
 *
 * @module
 */

import {
  type AcceptedDeflate,
  DeflateAcceptor,
  type DeflateOption,
  deflateOptionSettings,
  offeredExtensions,
} from "./compression.ts";
import { CloseCode } from "./protocol/close.ts";
import type { CloseInfo } from "./protocol/protocol.ts";
import { HandshakeError } from "./protocol/errors.ts";
import {
  computeAcceptKey,
  handshakeErrorResponse,
  httpResponse,
  isUpgradeRequest,
  offeredSubprotocols,
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
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./protocol/limits.ts";
import { MIN_READ_BYTES } from "./read_loop.ts";
import { type WebSocketOptions, webSocketSettings } from "./options.ts";
import { TEST_PAGE } from "./page.ts";
import { newTraffic, type Traffic } from "./traffic.ts";
import { runtime } from "./runtime/mod.ts";
import {
  closeQuietly,
  hangUp,
  type Listener,
  type NetAddress,
  readHead,
  type Transport,
  writeAll,
} from "./transport.ts";
import { answerUpgrade, type PendingUpgrade, type UpgradeHook } from "./upgrade.ts";
import {
  type ConnectionSettings,
  errorReporter,
  type Handler,
  type UpgradeRequest,
  WebSocketConnection,
} from "./websocket.ts";

/**
 * Options of {@linkcode serve}. Every limit's default is documented here; those every WebSocket
 * takes (keepalive, idle and slow-consumer deadlines, frame and queue limits) come from
 * {@linkcode WebSocketOptions}. `Data` is the type of each connection's `data`, as `onUpgrade`
 * attaches it.
 */
export interface ServeOptions<Data = undefined> extends WebSocketOptions {
  /** The TCP port; 0 picks a free one. @default {8000} */
  port?: number;
  /** The interface to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /**
   * The TLS certificate chain, PEM. With `key`, the server speaks TLS: `wss://` and `https://`.
   * @default none: plain TCP
   */
  cert?: string;
  /** The TLS private key, PEM; given with `cert`. @default none */
  key?: string;
  /** The largest message accepted, in bytes; larger ones close with 1009. @default {64 MiB} */
  maxMessageBytes?: number;
  /** The largest HTTP request head, in bytes; larger ones get 431. @default {16 KiB} */
  maxHeaderBytes?: number;
  /**
   * permessage-deflate (RFC 7692): `true` accepts clients' offers of it with the defaults of
   * `DeflateOptions`, an object tunes it. Messages of at least `threshold` bytes are
   * then sent compressed, and compressed ones from the client inflated, up to `maxMessageBytes`.
   * Off by default: it costs CPU on every message and memory on every connection that uses it
   * (see the README), which only some applications win back in bandwidth. @default {false}
   */
  deflate?: DeflateOption;
  /**
   * The most WebSockets open at once. Over it, an upgrade request is refused with 503 before
   * `onUpgrade` runs, with no `Retry-After` (a slot frees whenever any connection ends, which
   * cannot be foretold), and the server goes on serving everything else. An upgrade takes its
   * slot once its request is found valid, so requests being decided by `onUpgrade` count too and
   * the limit holds however many arrive at once; the slot is freed when the request is refused,
   * or once the connection's TCP has ended. Requests still arriving and plain HTTP take none:
   * `handshakeTimeoutMs` bounds those. `Infinity` lifts the limit. @default {10000}
   */
  maxConnections?: number;
  /**
   * The most header fields a request may have; more get 431, refused before any field is parsed.
   * @default {100}
   */
  maxHeaderCount?: number;
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
   * How long a client has to send its request head, in milliseconds; then TCP is ended. 0 for no
   * limit. @default {10000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Decides each valid upgrade request before it is accepted, within `handshakeTimeoutMs`: it
   * sees the URL, headers, client address and offered subprotocols, and may refuse (throwing a
   * `HandshakeError`), or accept choosing a subprotocol, adding response headers and attaching
   * the connection's `data`. See {@linkcode UpgradeHook}. @default none: every valid request is
   * accepted, with no subprotocol
   */
  onUpgrade?: UpgradeHook<Data>;
  /**
   * Called once each WebSocket is open, before its first message. If it throws or rejects, the
   * error goes to `onError` and the connection is closed with 1011.
   */
  onOpen?: (connection: WebSocketConnection<Data>) => void | Promise<void>;
  /**
   * Hears of errors: a handler's (with its connection, which is then closed with 1011),
   * `onUpgrade`'s (the client got 500), and the server's own unexpected ones.
   * @default {console.error}
   */
  onError?: (error: unknown, connection?: WebSocketConnection<Data>) => void;
  /**
   * Called once each WebSocket has ended, its TCP connection closed, with how it ended: the code
   * and reason the peer sent, whether the close was clean, and the error if this end failed it.
   * If it throws, the error goes to `onError`.
   */
  onClose?: (connection: WebSocketConnection<Data>, info: CloseInfo) => void;
}

/**
 * A server's counters, as {@linkcode Server.stats} reads them.
 *
 * @example
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * const server = serve({ port: 0 }, (message) => message);
 * const { connections, messagesIn, bytesOut } = server.stats;
 * ```
 */
export interface ServerStats extends Traffic {
  /** WebSockets open now. */
  connections: number;
  /** WebSockets opened since the server started. */
  connectionsOpened: number;
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
  /** The counters, as of now: connections, and messages and bytes both ways. */
  readonly stats: ServerStats;
  /**
   * Stops accepting, closes every WebSocket with 1001 (waiting up to `closeTimeoutMs` for each
   * close handshake), and resolves once all connections have ended.
   */
  shutdown(): Promise<void>;
}

/** What every connection of one server shares: options resolved to their defaults. */
interface Settings<Data> extends ConnectionSettings {
  /** `wss` over TLS, `ws` over plain TCP: the scheme of the connections' URLs. */
  scheme: "ws" | "wss";
  maxConnections: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  handshakeTimeoutMs: number;
  page: string | false;
  onUpgrade?: UpgradeHook<Data>;
  /** Accepts offers of permessage-deflate; null when it is off. */
  deflateAcceptor: DeflateAcceptor | null;
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
export function serve<Data = undefined>(
  options: ServeOptions<Data>,
  handler: Handler<Data>,
): Server {
  const { cert, key } = options;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("TLS needs both cert and key");
  }
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  const deflate = deflateOptionSettings(options.deflate, "server");
  const settings: Settings<Data> = {
    scheme: tls ? "wss" : "ws",
    role: "server",
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    maxHeaderCount: options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    ...webSocketSettings(options),
    page: options.page ?? TEST_PAGE,
    onUpgrade: options.onUpgrade,
    deflateAcceptor: deflate && new DeflateAcceptor(deflate),
    // Every connection of this server carries Data; the settings they share need not know it.
    handler: handler as Handler,
    onError: errorReporter(options.onError as ConnectionSettings["onError"]),
    traffic: newTraffic(),
  };
  const listener = runtime.listen(
    { hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8000 },
    tls,
  );
  const handshaking = new Set<HandshakeDeadline>();
  const open = new Set<WebSocketConnection>();
  let stopping = false;
  // Transports not yet ended, and a promise made once shutdown waits for them.
  let active = 0;
  let allEnded: PromiseWithResolvers<void> | undefined;
  const ended = () => {
    if (--active === 0) allEnded?.resolve();
  };
  // WebSockets open or being decided, against maxConnections.
  let slotsTaken = 0;
  const slots: Slots = {
    take() {
      if (slotsTaken >= settings.maxConnections) {
        throw new HandshakeError(503, "too many connections");
      }
      slotsTaken++;
    },
    release() {
      slotsTaken--;
    },
  };
  let connectionsOpened = 0;
  settings.onEnd = (connection) => {
    open.delete(connection);
    slots.release();
    ended();
    const onClose = options.onClose;
    if (onClose === undefined) return;
    connection.closed.then((info) => onClose(connection as WebSocketConnection<Data>, info))
      .catch((error) => settings.onError(error, connection));
  };

  const onUpgraded = (connection: WebSocketConnection<Data>) => {
    open.add(connection);
    connectionsOpened++;
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
    const deadline = new HandshakeDeadline(transport, settings.handshakeTimeoutMs);
    handshaking.add(deadline);
    let upgraded: Upgraded<Data> | null = null;
    try {
      upgraded = await handleRequest(transport, settings, deadline, slots);
    } catch (error) {
      settings.onError(error);
    } finally {
      handshaking.delete(deadline);
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
    get stats(): ServerStats {
      return { connections: open.size, connectionsOpened, ...settings.traffic! };
    },
    shutdown(): Promise<void> {
      if (!stopping) {
        stopping = true;
        listener.close();
        // Requests still arriving, or waiting for onUpgrade, get no answer: the server is going
        // away.
        for (const deadline of handshaking) {
          deadline.cut(new HandshakeError(503, "server shutting down"));
        }
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
  settings: ConnectionSettings,
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
interface Upgraded<Data> {
  connection: WebSocketConnection<Data>;
  /** The bytes that followed the request head. */
  rest: Uint8Array;
  /** The read buffer, handed on to the connection. */
  buffer: Uint8Array;
}

/**
 * The deadline of one opening handshake. A client that opens TCP and then dribbles or stops, or
 * an `onUpgrade` that never settles, gets `handshakeTimeoutMs`, no more: then, or when the server
 * shuts down, the transport is closed and `expired` rejects, which ends the wait for the hook.
 */
class HandshakeDeadline {
  readonly #transport: Transport;
  readonly #expired = Promise.withResolvers<never>();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the clock; `timeoutMs` 0 means no limit, as for the other deadlines. */
  constructor(transport: Transport, timeoutMs: number) {
    this.#transport = transport;
    // Only a wait for onUpgrade listens; an expiry at any other time is no error.
    this.#expired.promise.catch(() => {});
    if (timeoutMs === 0) return;
    this.#timer = setTimeout(() => {
      this.cut(new Error(`onUpgrade did not settle within handshakeTimeoutMs (${timeoutMs} ms)`));
    }, timeoutMs);
  }

  /** Rejects once the time is up or the handshake is cut. */
  get expired(): Promise<never> {
    return this.#expired.promise;
  }

  /** Ends the handshake now: closes the transport, and rejects `expired` with `reason`. */
  cut(reason: Error): void {
    this.clear();
    closeQuietly(this.#transport);
    this.#expired.reject(reason);
  }

  /** Stops the clock: the request is answered. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** The server's count of WebSockets, open or being decided, against `maxConnections`. */
interface Slots {
  /** Takes a slot for an upgrade request. @throws {HandshakeError} 503 when none is left. */
  take(): void;
  /** Gives a slot back: the request was refused, or its connection has ended. */
  release(): void;
}

/**
 * The request of an accepted upgrade, kept as bytes, and the subprotocol and extensions chosen
 * for it.
 */
class AcceptedRequest extends StoredRequest implements UpgradeRequest {
  readonly protocol: string;
  readonly extensions: string;

  constructor(bytes: Uint8Array, scheme: "ws" | "wss", protocol: string, extensions: string) {
    super(bytes, scheme);
    this.protocol = protocol;
    this.extensions = extensions;
  }
}

/**
 * Answers one TCP connection's request: a WebSocket handshake is accepted and the connection
 * returned, anything else is answered and the transport ended (null).
 */
async function handleRequest<Data>(
  transport: Transport,
  settings: Settings<Data>,
  deadline: HandshakeDeadline,
  slots: Slots,
): Promise<Upgraded<Data> | null> {
  let response: Uint8Array;
  // One read buffer serves the request head, then the WebSocket.
  const buffer = new Uint8Array(MIN_READ_BYTES);
  try {
    const { maxHeaderBytes, maxHeaderCount } = settings;
    const parser = new RequestHeadParser({ maxHeaderBytes, maxHeaderCount });
    const request = await readHead(transport, buffer, parser);
    if (request === null) {
      closeQuietly(transport);
      return null;
    }
    const { head, rest } = request;
    if (!isUpgradeRequest(head)) {
      response = plainResponse(head, settings.page);
    } else {
      const key = validateUpgradeRequest(head);
      // A server that compresses reads the offers (400 for a malformed field); others ignore them.
      const offers = settings.deflateAcceptor ? offeredExtensions(head.headers) : [];
      const pending: PendingUpgrade = {
        url: requestUrl(head, settings.scheme), // 400 for a Host that makes no URL
        headers: head.headers,
        remoteAddr: transport.remoteAddr,
        protocols: offeredSubprotocols(head.headers),
      };
      // The connection keeps the head as bytes (the read buffer is reused), not parsed.
      const bytes = request.bytes.slice();
      slots.take();
      let upgraded = false;
      let deflate: AcceptedDeflate | null = null;
      try {
        deflate = settings.deflateAcceptor?.accept(offers) ?? null;
        const extensions = deflate?.response ?? "";
        const { response: answer, accepted } = await answerUpgrade(
          pending,
          await computeAcceptKey(key),
          settings.onUpgrade,
          deadline.expired,
          settings.onError,
          extensions,
        );
        response = answer;
        if (accepted !== null) {
          deadline.clear();
          await writeAll(transport, response);
          const upgrade = new AcceptedRequest(
            bytes,
            settings.scheme,
            accepted.protocol,
            extensions,
          );
          const connection = new WebSocketConnection<Data>(
            transport,
            upgrade,
            settings,
            deflate?.codec,
          );
          // What onUpgrade attached, typed Data by serve()'s signature; undefined if nothing.
          connection.data = accepted.data as Data;
          upgraded = true;
          return { connection, rest, buffer };
        }
      } finally {
        // An upgraded connection gives its slots back once it has ended (onEnd).
        if (!upgraded) {
          slots.release();
          deflate?.codec.close();
        }
      }
    }
  } catch (error) {
    // A transport that failed mid-handshake (reset, timed out) has no one left to answer.
    if (!(error instanceof HandshakeError)) {
      closeQuietly(transport);
      return null;
    }
    response = handshakeErrorResponse(error);
  } finally {
    deadline.clear();
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
