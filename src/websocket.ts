/**
 * One open WebSocket, server or client end, as the application sees it: what a handler is
 * given, what it may call, and what it can read of the connection. The work is done by its
 * session (`session.ts`).
 *
 * @module
 */

import { messageReadable, messageWritable } from "./message_streams.ts";
import { CloseCode } from "./protocol/close_code.ts";
import type { Extension } from "./protocol/extension.ts";
import type { Message } from "./protocol/message.ts";
import type { CloseInfo, ConnectionState } from "./protocol/close.ts";
import type { Reply } from "./reply_pump.ts";
import { Session } from "./session.ts";
import type { SessionSettings } from "./session_settings.ts";
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
 * A handler that makes a pair of streams for each connection, such as a
 * `TransformStream<Message, Message>`: the connection's messages are written to its `writable`
 * side in order, and every chunk its `readable` side gives is sent, in order. Its flow control is
 * the connection's: while the pair pushes back, messages wait in the connection, and past
 * `maxQueuedMessages` the peer is no longer read; while more than `maxBufferedBytes` wait for the
 * peer, the pair's output is not read. The peer's close is answered once the pipeline has ended
 * (its output is closed after the messages before the close), within `closeTimeoutMs`; if the
 * pair errors (a transform throws), the connection is closed with 1011 and `onError` hears of
 * it; if its output ends by itself, the connection is closed with 1000. A `TransformStream`
 * itself serves one connection, so `serve()` takes a handler that makes one for each.
 *
 * @example An upper-casing echo, a TransformStream per connection
 * ```ts
 * import type { StreamHandler } from "./websocket.ts";
 * const upper: StreamHandler = {
 *   stream: () =>
 *     new TransformStream({
 *       transform: (message, out) =>
 *         out.enqueue(typeof message === "string" ? message.toUpperCase() : message),
 *     }),
 * };
 * ```
 */
export interface StreamHandler<Data = unknown> {
  /** Makes the streams one connection's messages go through; it may read `connection.data`. */
  stream(connection: WebSocketConnection<Data>): ReadableWritablePair<Message, Message>;
}

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
 *
 * @example A server that is a pipeline: readable through a transform into writable
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { connect } from "./client.ts";
 * import { serve } from "./server.ts";
 * const server = serve({
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   onOpen: (connection) =>
 *     connection.readable
 *       .pipeThrough(new TransformStream({ transform: (message, out) => out.enqueue(message) }))
 *       .pipeTo(connection.writable),
 * });
 * const client = await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * await client.send("round trip");
 * assertEquals(await client.receive(), "round trip");
 * await client.close();
 * await server.shutdown();
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
  #readable: ReadableStream<Message> | undefined;
  #writable: WritableStream<Message> | undefined;

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
   * The messages as a stream, on a connection made without a handler: one chunk per message, a
   * string for text and a `Uint8Array` for binary, and the end once the connection has ended.
   * It holds no message of its own: until a chunk is read its message waits in the connection,
   * so not reading it stops reading the peer past `maxQueuedMessages`, as with `receive()`, which
   * takes from the same messages. Cancelling it closes the connection, with the `closeCode` and
   * `reason` of a `WebSocketError` given as the reason, else 1000.
   *
   * @throws {TypeError} when the connection has a handler, which takes every message.
   */
  get readable(): ReadableStream<Message> {
    if (this.#session.hasHandler) throw hasHandler();
    return this.#readable ??= messageReadable(this.#session, (reason) => this.#closeFor(reason));
  }

  /**
   * A stream that sends each chunk written to it as one message: a string as text, bytes as
   * binary. Its `ready` (and `desiredSize`) follow `maxBufferedBytes`: a write resolves once its
   * message is queued, unless more than that then wait for the peer, when it resolves once they
   * no longer do; a writer that awaits `ready` or its writes never queues much more. Nothing
   * written is dropped for a slow peer (`slowConsumer` is for `send()`). Closing it closes the
   * connection (1000); aborting it closes the connection as cancelling `readable` does; a write
   * once this end's close frame is out fails with {@linkcode ConnectionClosedError}.
   */
  get writable(): WritableStream<Message> {
    return this.#writable ??= messageWritable(this.#session, {
      close: () => void this.close(),
      abort: (reason) => this.#closeFor(reason),
    });
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
   * Closes the connection for a stream cancelled or aborted with `reason`: with its `closeCode`
   * and `reason` when it carries a code that may be sent (a `WebSocketError`), else with 1000.
   */
  #closeFor(reason: unknown): void {
    const { closeCode, reason: text } = (reason ?? {}) as { closeCode?: unknown; reason?: unknown };
    try {
      if (typeof closeCode === "number") {
        return void this.close(closeCode, typeof text === "string" ? text : "");
      }
    } catch {
      // A code that may not be sent: the default close, below.
    }
    this.close();
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
