/**
 * One open WebSocket on a transport, server or client end, as the application sees it: the glue
 * between the pieces that do the work. The read loop (`read_loop.ts`) feeds the transport's bytes
 * to the protocol (`protocol/protocol.ts`), whose messages wait in the inbox (`inbox.ts`) for the
 * reply pump (`reply_pump.ts`) or for `receive()`; everything the protocol sends waits in the
 * outbox (`outbox.ts`) for the transport; the watchdog (`watchdog.ts`) asks the deadlines
 * (`connection_deadlines.ts`) what is due. This file only passes things between them.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { ConnectionDeadlines } from "./connection_deadlines.ts";
import { Inbox } from "./inbox.ts";
import type { WebSocketSettings } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { CloseCode } from "./protocol/close.ts";
import {
  ConnectionClosedError,
  type ConnectionFailure,
  KeepaliveTimeoutError,
  SlowConsumerError,
} from "./protocol/errors.ts";
import type { Extension } from "./protocol/extension.ts";
import type { Message } from "./protocol/message.ts";
import { type CloseInfo, type ConnectionState, Protocol } from "./protocol/protocol.ts";
import { ReadBuffer, type ReadTarget, readUntilEnd } from "./read_loop.ts";
import { type Reply, ReplyPump, type ReplyTarget } from "./reply_pump.ts";
import { admitOverLimit } from "./slow_consumer.ts";
import type { Traffic } from "./traffic.ts";
import { closeQuietly, type NetAddress, type Transport } from "./transport.ts";
import { sharedWatchdog, type Watchdog } from "./watchdog.ts";

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
 * What a {@linkcode WebSocketConnection} needs from the server or client that runs it. The
 * connections that share one settings object (a server's, a `connect()`'s) share the one timer
 * that checks their deadlines.
 */
export interface ConnectionSettings extends WebSocketSettings {
  /**
   * Which end this is. A client masks what it sends, expects unmasked frames, and leaves ending
   * TCP to the server (RFC 6455 §5.1, §7.1.1).
   */
  role: "server" | "client";
  /** The largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** How long the closing may take, from its start to the end of TCP, in milliseconds; 0 for ever. */
  closeTimeoutMs: number;
  /** The message handler; without one, messages wait for `receive()` or `for await`. */
  handler?: Handler;
  /** Hears of a connection's handler errors, and (without a connection) of the server's own. */
  onError: (error: unknown, connection?: WebSocketConnection) => void;
  /** Called once a connection has ended, its transport closed. */
  onEnd?: (connection: WebSocketConnection) => void;
  /** Where the connection counts its messages and bytes; shared by a server's connections. */
  traffic?: Traffic;
  /** The clock its deadlines run on. @default {SYSTEM_CLOCK} */
  clock?: Clock;
}

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
  readonly #transport: Transport;
  readonly #settings: ConnectionSettings;
  readonly #protocol: Protocol;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  /** Hands messages to the handler; null on a connection without one. */
  readonly #pump: ReplyPump | null;
  readonly #deadlines: ConnectionDeadlines;
  /** Sweeps this connection's deadlines with the others of its settings; null when all are off. */
  readonly #watchdog: Watchdog<WebSocketConnection> | null;
  /** Made only when someone waits: an idle connection holds as few promises as it can. */
  #closed: PromiseWithResolvers<CloseInfo> | undefined;
  #run: Promise<void> | undefined;
  /** Whether reading is held back for flow control: then the peer's silence means nothing. */
  #readingHeld = false;
  /** Whether the peer's close (or violation) is being answered, once the handler is idle. */
  #answering = false;

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
    this.#transport = transport;
    this.#settings = settings;
    const { pingIntervalMs, pingTimeoutMs, idleTimeoutMs, slowConsumerGraceMs } = settings;
    this.#watchdog = sharedWatchdog<WebSocketConnection>(
      settings,
      [
        pingIntervalMs,
        pingIntervalMs > 0 ? pingTimeoutMs : 0,
        idleTimeoutMs,
        slowConsumerGraceMs,
        settings.closeTimeoutMs,
      ],
      (connection, now) => connection.#checkDeadlines(now),
      settings.clock ?? SYSTEM_CLOCK,
    );
    this.#outbox = new Outbox(transport, () => this.#pump?.closingBegan(), {
      maxBufferedBytes: settings.maxBufferedBytes,
      now: () => this.#now,
      traffic: settings.traffic,
    });
    this.#protocol = new Protocol({ ...settings, extension }, this.#outbox);
    this.#inbox = new Inbox(settings.maxQueuedMessages);
    const { handler } = settings;
    this.#pump = handler
      ? new ReplyPump(this.#inbox, (message) => handler(message, this), this.#replyTarget())
      : null;
    this.#deadlines = new ConnectionDeadlines(settings, this.#now);
  }

  /** Resolves with how the connection ended, once its transport is closed. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === undefined) {
      this.#closed = Promise.withResolvers();
      if (this.#protocol.state === "closed") this.#closed.resolve(this.#protocol.closeInfo);
    }
    return this.#closed.promise;
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
    return this.#protocol.state;
  }

  /** Bytes queued for the peer and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#outbox.bufferedAmount;
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
    const sent = this.#send(message);
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
    if (this.#pump) return Promise.reject(this.#hasHandler());
    return this.#inbox.receive();
  }

  /**
   * Iterates the messages of a connection made without a handler, as {@linkcode receive} does;
   * the loop ends once the connection is closed. Leaving the loop early does not close it.
   *
   * @throws {TypeError} when the connection has a handler.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#pump) throw this.#hasHandler();
    return this.#inbox.messages();
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) after the messages already queued, and
   * resolves with how the connection ended. The peer has `closeTimeoutMs` to answer before TCP
   * is ended anyway. Calling it again just waits.
   *
   * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
   */
  close(code: number = CloseCode.Normal, reason = ""): Promise<CloseInfo> {
    const protocol = this.#protocol;
    if (protocol.closeSent === null && protocol.state !== "closed") {
      protocol.close(code, reason);
      this.#closeSent();
    }
    return this.closed;
  }

  /**
   * Runs the connection until its transport is closed, then calls the settings' `onEnd`. `rest`
   * is whatever followed the handshake in the same read; `readBuffer`, if given, is reused for
   * reading. It never rejects: an unexpected error goes to the settings' `onError`. A connection
   * runs once: calling this again returns the same run.
   */
  run(rest: Uint8Array, readBuffer?: Uint8Array): Promise<void> {
    return this.#run ??= this.#runOnce(rest, new ReadBuffer(readBuffer));
  }

  async #runOnce(rest: Uint8Array, buffer: ReadBuffer): Promise<void> {
    this.#watchdog?.add(this);
    this.#deadlines.resumed(this.#now);
    try {
      const reader = this.#readTarget();
      if (rest.length > 0) reader.received(rest);
      await readUntilEnd(this.#transport, buffer, reader);
    } catch (error) {
      this.#settings.onError(error);
    } finally {
      this.#watchdog?.delete(this);
      closeQuietly(this.#transport);
      this.#protocol.receiveEof();
      this.#pump?.closingBegan();
      this.#inbox.end();
      this.#closed?.resolve(this.#protocol.closeInfo);
      this.#settings.onEnd?.(this);
    }
  }

  /** The time, as the watchdog last read it: events are stamped with it. */
  get #now(): number {
    return this.#watchdog?.now ?? 0;
  }

  async #send(message: Message): Promise<void> {
    if (this.#protocol.closeSent === null && this.#outbox.overLimit) this.#admitOverLimit();
    this.#queueMessage(message);
    if (!await this.#outbox.written()) {
      throw new ConnectionClosedError("the connection ended before the message was written");
    }
  }

  /**
   * Applies the slow-consumer policy to a `send()` made while the queue is over the limit.
   *
   * @throws {SlowConsumerError} when the message is not to be queued.
   */
  #admitOverLimit(): void {
    const { maxBufferedBytes, slowConsumer } = this.#settings;
    const buffered = this.#outbox.bufferedAmount;
    const admitted = admitOverLimit(slowConsumer, buffered, maxBufferedBytes);
    if (admitted === "queue") return;
    const error = new SlowConsumerError(buffered, maxBufferedBytes);
    if (admitted === "fail") this.#failSlowConsumer(error);
    throw error;
  }

  /** Sends a message through the protocol; says whether its bytes went uncopied. */
  #queueMessage(message: Message): boolean {
    const uncopied = this.#protocol.send(message);
    this.#deadlines.active(this.#now);
    if (this.#settings.traffic) this.#settings.traffic.messagesOut++;
    return uncopied;
  }

  /** What the read loop feeds: bytes to the protocol, its messages to the inbox. */
  #readTarget(): ReadTarget {
    return {
      holdReading: () => {
        // Closing: read on, to the peer's close or the end of the stream.
        if (this.#protocol.state !== "open") return null;
        const outbox = this.#outbox;
        const inbox = this.#inbox;
        const hold = outbox.overLimit
          ? outbox.belowLimit()
          : inbox.full
          ? inbox.belowLowWater()
          : null;
        this.#readingHeld = hold !== null;
        return hold;
      },
      resumed: () => {
        this.#readingHeld = false;
        this.#deadlines.resumed(this.#now);
      },
      received: (bytes) => this.#received(bytes),
    };
  }

  #received(bytes: Uint8Array): void {
    const protocol = this.#protocol;
    const now = this.#now;
    this.#deadlines.heard(now);
    const dataBefore = protocol.dataReceived;
    const messages = protocol.receiveData(bytes);
    if (protocol.dataReceived !== dataBefore) this.#deadlines.active(now);
    const traffic = this.#settings.traffic;
    if (traffic) {
      traffic.bytesIn += bytes.length;
      traffic.messagesIn += messages.length;
    }
    for (const message of messages) this.#inbox.push(message);
    if (messages.length > 0) this.#pump?.wake();
    if (protocol.closeOwed && !this.#answering) this.#answerClose();
  }

  /**
   * Answers the peer's close, or its violation, with this end's close frame once the handler has
   * answered the messages that came before it, unless the handler closes meanwhile. Messages for
   * `receive()` have no replies to wait for, and stay readable after the close.
   */
  async #answerClose(): Promise<void> {
    this.#answering = true;
    this.#closingBegan();
    try {
      if (this.#pump) await this.#pump.idleOrClosing();
      if (this.#protocol.closeOwed && !this.#outbox.closed) {
        this.#protocol.close();
        this.#closeSent();
      }
    } catch (error) {
      this.#settings.onError(error, this);
    }
  }

  /** This end's close frame is queued: replies have nowhere to go. */
  #closeSent(): void {
    this.#pump?.closingBegan();
    this.#closingBegan();
  }

  /** Closing began, from either end: the close timeout runs, and the peer is read to its end. */
  #closingBegan(): void {
    this.#deadlines.closing(this.#now);
    this.#inbox.releaseReading();
  }

  /** Where the reply pump's replies go, and what it waits for. */
  #replyTarget(): ReplyTarget {
    const outbox = this.#outbox;
    return {
      queueReply: (message) => {
        const protocol = this.#protocol;
        if (protocol.closeSent !== null || protocol.state === "closed") return null;
        return this.#queueMessage(message);
      },
      get overLimit() {
        return outbox.overLimit;
      },
      belowLimit: () => outbox.belowLimit(),
      written: () => outbox.written(),
      handlerFailed: (error) => {
        this.#settings.onError(error, this);
        // Unknown errors close with 1011 and no detail on the wire.
        if (this.#protocol.closeSent === null) this.close(CloseCode.InternalError);
      },
      idle: () => this.#deadlines.active(this.#now),
    };
  }

  /** Does what the deadlines say is due, at the watchdog's sweep. */
  #checkDeadlines(now: number): void {
    const protocol = this.#protocol;
    try {
      const due = this.#deadlines.check(now, {
        state: protocol.state,
        awaitingPong: protocol.awaitingPong,
        overLimitSince: this.#outbox.overLimitSince,
        readingHeld: this.#readingHeld,
        handlerBusy: this.#pump?.busy ?? false,
      });
      if (due === "ping") {
        protocol.ping();
        this.#deadlines.pinged(now);
      } else if (due === "keepalive timeout") {
        this.#fail(new KeepaliveTimeoutError(this.#settings.pingTimeoutMs));
      } else if (due === "slow consumer") {
        const { bufferedAmount } = this.#outbox;
        this.#failSlowConsumer(
          new SlowConsumerError(bufferedAmount, this.#settings.maxBufferedBytes),
        );
      } else if (due === "idle") {
        // RFC 6455 §7.4.1: 1001, the endpoint is going away (from this quiet conversation).
        this.close(CloseCode.GoingAway, "idle timeout");
      } else if (due === "close timeout") {
        closeQuietly(this.#transport);
      }
    } catch (error) {
      // Whatever goes wrong with one connection must not stop the sweep over the others.
      this.#settings.onError(error, this);
    }
  }

  /** Closes a connection whose peer does not read, and tells `onError` why. */
  #failSlowConsumer(error: SlowConsumerError): void {
    this.#settings.onError(error, this);
    this.#fail(error);
  }

  /** Fails the connection for a reason found here: the protocol sends the close and ends TCP. */
  #fail(error: ConnectionFailure): void {
    this.#protocol.fail(error);
    this.#closeSent();
  }

  #hasHandler(): TypeError {
    return new TypeError("this connection's messages go to its handler, not to receive()");
  }
}
