/**
 * The options of `serve()`, with every default documented, and the settings they resolve to,
 * which every connection of one server shares.
 *
 * @module
 */

import { DeflateAcceptor, type DeflateOption, deflateOptionSettings } from "./compression.ts";
import { type WebSocketOptions, webSocketSettings } from "./options.ts";
import type { FetchHandler } from "./fetch_handler.ts";
import type { CloseInfo } from "./protocol/close.ts";
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./protocol/limits.ts";
import { TEST_PAGE } from "./page.ts";
import { pageFetch } from "./page_fetch.ts";
import { newTraffic } from "./traffic.ts";
import type { TlsCertificate } from "./transport.ts";
import type { PubSub } from "./pubsub/pubsub.ts";
import type { Session } from "./session.ts";
import { Topics } from "./topics.ts";
import type { UpgradeHook } from "./upgrade.ts";
import {
  type ConnectionSettings,
  errorReporter,
  type Handler,
  type StreamHandler,
  type WebSocketConnection,
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
   * The HTML served for a plain `GET /` when there is no `fetch`; `false` answers it with 404
   * like every other path. @default the built-in test page
   */
  page?: string | false;
  /**
   * Answers every plain HTTP request, every one that is not a WebSocket upgrade, on the same port
   * as the WebSockets: a Web-standard `(request, info) => Response`, such as a framework's
   * `app.fetch`. Request bodies are streamed to `request.body` as it is read; responses are
   * streamed from `Response.body`. If it throws, the client gets 500 and the error goes to
   * `onError`. See {@linkcode FetchHandler}. @default the test page at `/` (see `page`), 404
   * elsewhere
   */
  fetch?: FetchHandler<Data>;
  /**
   * Whether WebSocket upgrade requests go to `fetch` too, which accepts one by returning
   * `info.upgrade(request, { protocol, headers, data })` (as Bun's `server.upgrade`), and refuses
   * it by returning any other response: routing in one place. They reach it checked (RFC 6455
   * §4.2.1) and holding a `maxConnections` slot, and it must answer within `handshakeTimeoutMs`.
   * It takes the place of `onUpgrade`, so not both may be given. @default {false}: upgrades go to
   * `onUpgrade`, and `fetch` never sees them
   */
  fetchUpgrades?: boolean;
  /**
   * The largest request body, in bytes: a larger `Content-Length` gets 413 before `fetch` runs,
   * and a chunked body that grows past it fails as it is read, and gets 413. @default {64 MiB}
   */
  maxBodyBytes?: number;
  /**
   * How long a kept-alive HTTP connection may wait for its next request to begin, in
   * milliseconds; then it is closed. 0 for no limit. @default {5000}
   */
  keepAliveTimeoutMs?: number;
  /**
   * How long a client has to send a request head, in milliseconds, from the start of the
   * connection (or of the request, on a kept-alive one); then TCP is ended. It also bounds
   * `onUpgrade`. 0 for no limit. @default {10000}
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
  /**
   * How many copies of the server to run, on as many threads of this process, sharing its port
   * (`reusePort`: the kernel spreads the connections among them); `"auto"` for one per core. The
   * program's main module runs again in each new thread, as with Node's `cluster`, and its
   * `serve()` call there joins this one; topics reach every copy (through `localPubSub()`,
   * unless `pubsub` says otherwise), and `shutdown()` stops them all. On Deno it needs
   * `--unstable-net` (this project's `deno.json` turns it on) and `--allow-read`; Node cannot
   * share a port yet. `stats` and `addr` are this copy's. @default {1}
   */
  workers?: number | "auto";
  /**
   * How topics reach the other processes that serve the same application: `localPubSub()`
   * between the workers of one process, `redisPubSub(url)` (from the `./redis` entry point)
   * across processes and machines. What it reports (Redis gone, back, messages lost) goes to
   * `onError` as a `PubSubEvent`. @default none: topics stay within this server
   */
  pubsub?: PubSub;
}

/**
 * What every connection of one server shares: its options resolved to their defaults.
 *
 * @example
 * ```ts
 * import { serverSettings } from "./serve_options.ts";
 * const settings = serverSettings({ port: 0 }, (message) => message);
 * console.log(settings.maxConnections); // 10000
 * ```
 */
export interface ServerSettings<Data = unknown> extends ConnectionSettings {
  /** Where to listen. */
  hostname: string;
  /** The TCP port; 0 for any free one. */
  port: number;
  /** The certificate and key of a TLS server; none for plain TCP. */
  tls: TlsCertificate | undefined;
  /** `wss` over TLS, `ws` over plain TCP: the scheme of the connections' URLs. */
  scheme: "ws" | "wss";
  /** The most WebSockets open or being decided at once. */
  maxConnections: number;
  /** The largest request head, in bytes. */
  maxHeaderBytes: number;
  /** The most header fields of a request head. */
  maxHeaderCount: number;
  /** How long a client has for its request head, and `onUpgrade` for its answer. */
  handshakeTimeoutMs: number;
  /** Answers every plain request. */
  fetch: FetchHandler<unknown>;
  /** Whether upgrade requests go to `fetch`. */
  fetchUpgrades: boolean;
  /** The largest request body, in bytes. */
  maxBodyBytes: number;
  /** How long a kept-alive connection may be quiet before its next request. */
  keepAliveTimeoutMs: number;
  /** Decides each valid upgrade request. */
  onUpgrade?: UpgradeHook<Data>;
  /** Called once each WebSocket is open. */
  onOpen?: (connection: WebSocketConnection<Data>) => void | Promise<void>;
  /** Called once each WebSocket has ended. */
  onClose?: (connection: WebSocketConnection<Data>, info: CloseInfo) => void;
  /** Accepts offers of permessage-deflate; null when it is off. */
  deflateAcceptor: DeflateAcceptor | null;
  /** Who is subscribed to what, and the relay to other processes. */
  topics: Topics<Session<WebSocketConnection>>;
}

/**
 * Resolves `options` to a server's settings, with `handler` for every message (none: each
 * connection is read in `onOpen`, with `receive()`, `for await` or `readable`).
 *
 * @throws {TypeError} for `cert` without `key`, or the other way round; for `fetchUpgrades` with
 * `onUpgrade`; for a handler that is a pair of streams itself, which serves one connection only.
 * @throws {RangeError} for an option out of its range.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { serverSettings } from "./serve_options.ts";
 * const settings = serverSettings({ maxConnections: 5 }, (message) => message);
 * assertEquals([settings.maxConnections, settings.scheme, settings.port], [5, "ws", 8000]);
 * ```
 */
export function serverSettings<Data>(
  options: ServeOptions<Data>,
  handler?: Handler<Data> | StreamHandler<Data>,
): ServerSettings<Data> {
  const { cert, key } = options;
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("TLS needs both cert and key");
  }
  if (typeof handler === "object" && "readable" in handler && "writable" in handler) {
    throw new TypeError(
      "a TransformStream serves one connection: give serve() { stream: () => new " +
        "TransformStream(…) }, which makes one for each connection",
    );
  }
  const fetchUpgrades = options.fetchUpgrades ?? false;
  if (fetchUpgrades && options.onUpgrade) {
    throw new TypeError("with fetchUpgrades, fetch decides upgrades: onUpgrade cannot be given");
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  if (!(maxBodyBytes >= 0)) throw new RangeError("maxBodyBytes must be ≥ 0");
  if (!(keepAliveTimeoutMs >= 0)) {
    throw new RangeError("keepAliveTimeoutMs must be ≥ 0 (0 turns it off)");
  }
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  const deflate = deflateOptionSettings(options.deflate, "server");
  const onError = errorReporter(options.onError as ConnectionSettings["onError"]);
  return {
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port ?? 8000,
    tls,
    scheme: tls ? "wss" : "ws",
    role: "server",
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    maxHeaderCount: options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    ...webSocketSettings(options),
    fetch: (options.fetch as FetchHandler<unknown> | undefined) ??
      pageFetch(options.page ?? TEST_PAGE),
    fetchUpgrades,
    maxBodyBytes,
    keepAliveTimeoutMs,
    onUpgrade: options.onUpgrade,
    onOpen: options.onOpen,
    onClose: options.onClose,
    deflateAcceptor: deflate && new DeflateAcceptor(deflate),
    // Every connection of this server carries Data; the settings they share need not know it.
    handler: handler as Handler | StreamHandler | undefined,
    onError,
    traffic: newTraffic(),
    topics: new Topics(options.pubsub, (event) => onError(event)),
  };
}
