/**
 * One open WebSocket, server or client end, as the application sees it: what a handler is
 * given, what it may call, and what it can read of the connection. The work is done by its
 * session (`session.ts`).
 *
 * @module
 */

import { CloseCode } from "./protocol/close_code.ts";
import type { Extension } from "./protocol/extension.ts";
import type { Message } from "./protocol/message.ts";
import type { CloseInfo, ConnectionState } from "./protocol/close.ts";
import type { Reply } from "./reply_pump.ts";
import { Session, type SessionSettings } from "./session.ts";
import type { PublishOptions } from "./topics.ts";
import type { NetAddress, Transport } from "./transport.ts";

export type { Reply };

/**
 * Receives each message of a connection, in order, one at a time, and returns the replies.
 * `Data` is the type of the connection's `data`.
 *
 * @example An echo handler
 * ```ts
 * import type { Handler } from "./websocket.ts";
 * const echo: Handler = (message) => message;
 * ```
 */
export type Handler<Data = unknown> = (
  message: Message,
  connection: WebSocketConnection<Data>,
) => Reply | Promise<Reply>;

/**
 * What a {@linkcode WebSocketConnection} needs from the server or client that runs it: see
 * {@linkcode SessionSettings}.
 */
export type ConnectionSettings = SessionSettings<WebSocketConnection>;

/**
 * The `onError` a connection calls: `onError`, or `console.error` when none is given, guarded so
 * that a hook that throws is reported rather than taking the connection (or server) down.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { errorReporter } from "./websocket.ts";
 * const errors: unknown[] = [];
 * const report = errorReporter((error) => errors.push(error));
 * report(new Error("a handler failed"));
 * assertEquals(errors.length, 1);
 * ```
 */
export function errorReporter(
  onError?: (error: unknown, connection?: WebSocketConnection) => void,
): ConnectionSettings["onError"] {
  const hook = onError ??
    ((error, connection) => console.error(connection ? "handler error:" : "error:", error));
  return (error, connection) => {
    try {
      hook(error, connection);
    } catch (hookError) {
      console.error("onError threw:", hookError, "while reporting:", error);
    }
  };
}

/** The request that opened a connection, and the subprotocol agreed on for it. */
export interface UpgradeRequest {
  /** The request URL, with scheme `ws`. */
  url: URL;
  /** The request's header fields. */
  headers: Headers;
  /** The subprotocol the server chose from those the request offered. @default {""} (none) */
  protocol?: string;
  /**
   * The extensions the server accepted, as its `Sec-WebSocket-Extensions` listed them.
   * @default {""} (none)
   */
  extensions?: string;
}

/**
 * An open WebSocket, as a handler sees it, on a server or a client. Its messages go to the
 * handler; a connection made without one is read with `receive()` or `for await`.
 *
 * @example Push to a client outside the handler
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * serve({ onOpen: (connection) => connection.send("welcome") }, (message) => message);
 * ```
 *
 * @example Read a client connection's messages as they come
 * ```ts ignore
 * import { connect } from "../mod.ts";
 * const connection = await connect("ws://127.0.0.1:8000/");
 * for await (const message of connection) console.log(message);
 * ```
 */
export class WebSocketConnection<Data = unknown> implements AsyncIterable<Message> {
  /** The peer's address. */
  readonly remoteAddr: NetAddress;
  /** The subprotocol agreed on in the handshake, or "" for none. */
  readonly protocol: string;
  /**
   * The extensions agreed on in the handshake, as the server's `Sec-WebSocket-Extensions` listed
   * them (`"permessage-deflate; server_max_window_bits=12"`), or "" for none.
   */
  readonly extensions: string;
  /**
   * The application's own per-connection value: on a server, what `onUpgrade` attached, and
   * undefined when it attached nothing; free to replace at any time.
   */
  data: Data = undefined as Data;

  readonly #request: UpgradeRequest;
  readonly #session: Session<WebSocketConnection>;

  /**
   * Wraps a transport whose handshake is done, with the extension the handshake agreed on, if
   * any. Use {@linkcode WebSocketConnection.run} next.
   */
  constructor(
    transport: Transport,
    request: UpgradeRequest,
    settings: ConnectionSettings,
    extension?: Extension,
  ) {
    this.remoteAddr = transport.remoteAddr;
    this.#request = request;
    this.protocol = request.protocol ?? "";
    this.extensions = request.extensions ?? "";
    this.#session = new Session<WebSocketConnection>(
      this as WebSocketConnection,
      transport,
      settings,
      extension,
    );
  }

  /** Resolves with how the connection ended, once its transport is closed. */
  get closed(): Promise<CloseInfo> {
    return this.#session.closed;
  }

  /** The URL of the upgrade request, with scheme `ws`. */
  get url(): URL {
    return this.#request.url;
  }

  /** The header fields of the upgrade request: the client's, on either end. */
  get headers(): Headers {
    return this.#request.headers;
  }

  /** `open`, `closing` once a close frame went either way, `closed` once TCP has ended. */
  get state(): ConnectionState {
    return this.#session.state;
  }

  /** Bytes queued for the peer and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#session.bufferedAmount;
  }

  /**
   * Sends a message: a string as text, bytes as binary. Resolves once it is written; binary
   * messages of 256 KiB and more are not copied, so their bytes must not change until then.
   * While more than `maxBufferedBytes` are queued for the peer, the `slowConsumer` policy
   * decides whether the message is queued or dropped.
   *
   * @throws {ConnectionClosedError} when this end has sent its close frame, or the transport
   * ended before the message was written.
   * @throws {SlowConsumerError} when the message was not queued because the peer is too far
   * behind: dropped (`"drop"`), or the queue is at twice the limit and the connection closing
   * (`"close"`).
   */
  send(message: Message): Promise<void> {
    const sent = this.#session.send(message);
    // A send nobody awaits (a broadcast loop) must not become an unhandled rejection.
    sent.catch(() => {});
    return sent;
  }

  /**
   * The next message, on a connection made without a handler: messages that came before the
   * close are still returned, then it rejects with {@linkcode ConnectionClosedError}. Until a
   * message is taken it waits in the connection, and while more than `maxQueuedMessages` wait,
   * the peer is not read.
   *
   * @throws {TypeError} when the connection has a handler, which takes every message.
   */
  receive(): Promise<Message> {
    if (this.#session.hasHandler) return Promise.reject(hasHandler());
    return this.#session.receive();
  }

  /**
   * Iterates the messages of a connection made without a handler, as {@linkcode receive} does;
   * the loop ends once the connection is closed. Leaving the loop early does not close it.
   *
   * @throws {TypeError} when the connection has a handler.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#session.hasHandler) throw hasHandler();
    return this.#session.messages();
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) after the messages already queued, and
   * resolves with how the connection ended. The peer has `closeTimeoutMs` to answer before TCP
   * is ended anyway. Calling it again just waits.
   *
   * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
   */
  close(code: number = CloseCode.Normal, reason = ""): Promise<CloseInfo> {
    this.#session.close(code, reason);
    return this.closed;
  }

  /**
   * Subscribes this connection to `topic`: what is published to it (`server.publish`, another
   * connection's `publish`, or another process's, through the server's `pubsub`) is sent here.
   * Subscribing again is harmless; a connection leaves all its topics when it ends.
   *
   * @throws {TypeError} on a client's connection, or for a topic that is not a string.
   */
  subscribe(topic: string): void {
    this.#session.topics.subscribe(this.#session, topic);
  }

  /** Unsubscribes this connection from `topic`; what was already queued for it still goes out. */
  unsubscribe(topic: string): void {
    this.#session.topics.unsubscribe(this.#session, topic);
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#session.topics.isSubscribed(this.#session, topic);
  }

  /** The topics this connection is subscribed to, in the order it subscribed. */
  get subscriptions(): string[] {
    return this.#session.topics.subscriptionsOf(this.#session);
  }

  /**
   * Publishes `message` to every subscriber of `topic` but this connection (as Bun's does), on
   * this server and every process that shares its `pubsub`; this connection need not be
   * subscribed. Returns how many subscribers on this server it was queued for: see
   * `server.publish`.
   *
   * @throws {TypeError} on a client's connection, or for a topic that is not a string.
   */
  publish(topic: string, message: Message, options?: PublishOptions): number {
    return this.#session.topics.publish(topic, message, this.#session, options);
  }

  /**
   * Runs the connection until its transport is closed, then calls the settings' `onEnd`. `rest`
   * is whatever followed the handshake in the same read; `readBuffer`, if given, is reused for
   * reading. It never rejects: an unexpected error goes to the settings' `onError`. A connection
   * runs once: calling this again returns the same run.
   */
  run(rest: Uint8Array, readBuffer?: Uint8Array): Promise<void> {
    return this.#session.run(rest, readBuffer);
  }
}

function hasHandler(): TypeError {
  return new TypeError("this connection's messages go to its handler, not to receive()");
}
