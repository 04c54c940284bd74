/**
 * One open WebSocket on a transport, server or client end: reads bytes into the protocol core,
 * hands messages to the handler (or to `receive()`) one at a time, writes replies in order, keeps
 * the peer to its deadlines (keepalive, idle, slow consumer), and carries the close handshake
 * through.
 *
 * @module
 */

import { CloseCode } from "./protocol/close.ts";
import { type CloseInfo, Connection, type ConnectionState } from "./protocol/connection.ts";
import {
  ConnectionClosedError,
  type ConnectionFailure,
  KeepaliveTimeoutError,
  SlowConsumerError,
} from "./protocol/errors.ts";
import {
  MAX_READ_BYTES,
  MIN_READ_BYTES,
  SHRUNK_READ_BYTES,
  SLOW_CONSUMER_CEILING_FACTOR,
  SMALL_READS_BEFORE_SHRINKING,
} from "./protocol/limits.ts";
import type { DeflateCodec } from "./protocol/deflate.ts";
import type { Message } from "./protocol/message.ts";
import type { WebSocketSettings } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { Receiver } from "./receiver.ts";
import type { Traffic } from "./traffic.ts";
import { closeQuietly, hangUp, type NetAddress, type Transport } from "./transport.ts";
import { type Clock, Watchdog, watchdogPeriod } from "./watchdog.ts";

/** The clock of a connection without deadlines: nothing reads its time. */
const STOPPED_CLOCK: Clock = { now: 0 };

/**
 * What a handler may return: a message, several (sync or async iterable), or nothing. Each
 * message is sent as one frame: a string as text, bytes as binary.
 */
export type Reply =
  | Message
  | Iterable<Message>
  | AsyncIterable<Message>
  | null
  | undefined
  | void;

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
  /** How long the close handshake and the end of TCP may take, in milliseconds; 0 for ever. */
  closeTimeoutMs: number;
  /** The message handler; without one, messages wait for `receive()` or `for await`. */
  handler?: Handler;
  /** Hears of a connection's handler errors, and (without a connection) of the server's own. */
  onError: (error: unknown, connection?: WebSocketConnection) => void;
  /** Called once a connection has ended, its transport closed. */
  onEnd?: (connection: WebSocketConnection) => void;
  /** Where the connection counts its messages and bytes; shared by a server's connections. */
  traffic?: Traffic;
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
  readonly #handler: Handler;
  /** Where messages wait for `receive()`, on a connection without a handler. */
  readonly #receiver: Receiver | null;
  readonly #core: Connection;
  readonly #outbox: Outbox;
  #inbox: (Message | undefined)[] = [];
  #inboxHead = 0;
  /** The pump's run, while it runs; a flag too, as a run that never awaits ends before it is stored. */
  #pumping: Promise<void> | undefined;
  #pumpRunning = false;
  /** Whether the transport is closed, by the deadline, a failed write, or the end. */
  #transportEnded = false;
  // Promises are made only when someone waits: an idle connection holds as few as it can.
  #closed: PromiseWithResolvers<CloseInfo> | undefined;
  /** Wakes a wait for the handler to be idle or closing to start, made only while one waits. */
  #idleOrClosing: PromiseWithResolvers<void> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Checks the deadlines of this connection with the others of its settings; null when all are off. */
  readonly #watchdog: Watchdog<WebSocketConnection> | null;
  /** The watchdog's clock, or a stopped one: events are stamped with its time. */
  readonly #clock: Clock;
  /** When bytes last came from the peer, for keepalive. */
  #heardAt = 0;
  /** When a message last went either way, or the handler last finished, for the idle timeout. */
  #activeAt = 0;
  /** When the last keepalive ping was sent. */
  #pingedAt = 0;
  #run: Promise<void> | undefined;
  /** Whether reading has stopped for flow control: then the peer's silence means nothing. */
  #readPaused = false;

  /** The watchdog of every settings object that has deadlines, made for its first connection. */
  static readonly #watchdogs = new WeakMap<
    ConnectionSettings,
    Watchdog<WebSocketConnection> | null
  >();

  /**
   * Wraps a transport whose handshake is done, with the permessage-deflate codec when the
   * handshake agreed on it. Use {@linkcode WebSocketConnection.run} next.
   */
  constructor(
    transport: Transport,
    request: UpgradeRequest,
    settings: ConnectionSettings,
    deflate?: DeflateCodec,
  ) {
    this.remoteAddr = transport.remoteAddr;
    this.#request = request;
    this.protocol = request.protocol ?? "";
    this.extensions = request.extensions ?? "";
    this.#transport = transport;
    this.#settings = settings;
    this.#receiver = settings.handler ? null : new Receiver();
    this.#handler = settings.handler ?? this.#receiver!.offer;
    this.#core = new Connection(deflate ? { ...settings, deflate } : settings);
    this.#watchdog = WebSocketConnection.#watchdogFor(settings);
    this.#clock = this.#watchdog ?? STOPPED_CLOCK;
    const { maxBufferedBytes } = settings;
    this.#outbox = new Outbox(transport, () => this.#endTransport(), {
      maxBufferedBytes,
      clock: this.#clock,
      traffic: settings.traffic,
    });
  }

  static #watchdogFor(settings: ConnectionSettings): Watchdog<WebSocketConnection> | null {
    let watchdog = WebSocketConnection.#watchdogs.get(settings);
    if (watchdog === undefined) {
      const { pingIntervalMs, pingTimeoutMs, idleTimeoutMs, slowConsumerGraceMs } = settings;
      const period = watchdogPeriod([
        pingIntervalMs,
        pingIntervalMs > 0 ? pingTimeoutMs : 0,
        idleTimeoutMs,
        slowConsumerGraceMs,
      ]);
      watchdog = period === null
        ? null
        : new Watchdog(period, (connection, now) => connection.#checkDeadlines(now));
      WebSocketConnection.#watchdogs.set(settings, watchdog);
    }
    return watchdog;
  }

  /** Resolves with how the connection ended, once its transport is closed. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === undefined) {
      this.#closed = Promise.withResolvers();
      if (this.#core.state === "closed") this.#closed.resolve(this.#core.closeInfo);
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
    return this.#core.state;
  }

  /** Bytes queued for the peer and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#outbox.bufferedAmount;
  }

  /**
   * Sends a message: a string as text, bytes as binary. Resolves once it is written; large
   * binary messages and received ones are not copied, so their bytes must not change until then.
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

  async #send(message: Message): Promise<void> {
    if (this.#core.closeSent === null && this.#outbox.overLimit) this.#admitOverLimit();
    this.#enqueueMessage(message);
    if (!await this.#outbox.written()) {
      throw new ConnectionClosedError("the connection ended before the message was written");
    }
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
    try {
      return this.#ownReceiver().receive();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Iterates the messages of a connection made without a handler, as {@linkcode receive} does;
   * the loop ends once the connection is closed. Leaving the loop early does not close it.
   *
   * @throws {TypeError} when the connection has a handler.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.#ownReceiver().messages();
  }

  #ownReceiver(): Receiver {
    if (this.#receiver === null) {
      throw new TypeError("this connection's messages go to its handler, not to receive()");
    }
    return this.#receiver;
  }

  /**
   * Applies the slow-consumer policy to a `send()` made while the queue is over the limit.
   *
   * @throws {SlowConsumerError} when the message is not to be queued.
   */
  #admitOverLimit(): void {
    const { maxBufferedBytes, slowConsumer } = this.#settings;
    const buffered = this.#outbox.bufferedAmount;
    if (slowConsumer === "close" && buffered <= maxBufferedBytes * SLOW_CONSUMER_CEILING_FACTOR) {
      return;
    }
    const error = new SlowConsumerError(buffered, maxBufferedBytes);
    if (slowConsumer === "close") this.#failSlowConsumer(error);
    throw error;
  }

  /** Encodes a message and queues it: traffic, for the idle timeout. */
  #enqueueMessage(message: Message): Uint8Array[] {
    const chunks = this.#core.send(message);
    for (const chunk of chunks) this.#outbox.enqueue(chunk);
    this.#activeAt = this.#clock.now;
    if (this.#settings.traffic) this.#settings.traffic.messagesOut++;
    return chunks;
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2) after the messages already queued, and
   * resolves with how the connection ended. The peer has `closeTimeoutMs` to answer before TCP
   * is ended anyway. Calling it again just waits.
   *
   * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
   */
  close(code: number = CloseCode.Normal, reason = ""): Promise<CloseInfo> {
    if (this.#core.closeSent === null && this.#core.state !== "closed") {
      // The peer broke the protocol and the close for it waits for the handler: that close wins.
      const failure = this.#core.failure;
      this.#outbox.enqueue(
        failure
          ? this.#core.close(failure.closeCode, failure.message)
          : this.#core.close(code, reason),
      );
      this.#wakeIdleOrClosing();
      this.#startDeadline();
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
    return this.#run ??= this.#runOnce(rest, readBuffer ?? new Uint8Array(MIN_READ_BYTES));
  }

  async #runOnce(rest: Uint8Array, readBuffer: Uint8Array): Promise<void> {
    const core = this.#core;
    this.#watchdog?.add(this);
    this.#heardAt = this.#activeAt = this.#clock.now;
    try {
      if (!await this.#readUntilClose(rest, readBuffer)) return;
      this.#startDeadline();
      if (core.closeSent === null) {
        // Answer the messages that came before the close (or the violation) first, unless the
        // handler closes meanwhile or time runs out. Messages for receive() have no replies to
        // wait for, and stay readable after the close.
        if (this.#receiver === null) await this.#handlerIdleOrClosing();
        if (core.closeSent === null && !this.#outbox.broken) {
          const failure = core.failure;
          this.#outbox.enqueue(
            failure ? core.close(failure.closeCode, failure.message) : core.close(),
          );
        }
      }
      await this.#outbox.flushed();
      // RFC 6455 §7.1.1: the server ends TCP first; the client waits for it to.
      const { role, closeTimeoutMs } = this.#settings;
      await hangUp(this.#transport, closeTimeoutMs, role === "server");
    } catch (error) {
      this.#settings.onError(error);
    } finally {
      this.#watchdog?.delete(this);
      clearTimeout(this.#deadlineTimer);
      this.#endTransport();
      core.receiveEof();
      this.#closed?.resolve(core.closeInfo);
      // Once the messages already received are handed over, receive() has no more to give.
      const receiver = this.#receiver;
      if (receiver) Promise.resolve(this.#pumping).then(() => receiver.end());
      this.#settings.onEnd?.(this);
    }
  }

  /** Reads until the core wants no more (true), or the transport ends (false). */
  async #readUntilClose(rest: Uint8Array, buffer: Uint8Array): Promise<boolean> {
    const core = this.#core;
    if (rest.length > 0) this.#receive(rest);
    let smallReads = 0;
    while (core.closeReceived === null && core.failure === null) {
      // Backpressure: while the peer is not taking what we send, or the handler is behind, stop
      // reading, and TCP flow control slows the peer down.
      if (this.#outbox.overLimit || this.#backlogged()) {
        this.#readPaused = true;
        await this.#outbox.belowLimit();
        if (this.#backlogged()) await this.#handlerIdleOrClosing();
        this.#readPaused = false;
        // Nothing was heard while nothing was read: keepalive and idle time start again, and a pong
        // still unread gets a new deadline.
        this.#heardAt = this.#activeAt = this.#pingedAt = this.#clock.now;
      }
      let count: number | null;
      try {
        count = await this.#transport.read(buffer);
      } catch {
        // A reset, or the transport closed under us: the end of the stream either way.
        count = null;
      }
      if (count === null) return false;
      this.#heardAt = this.#clock.now;
      this.#receive(buffer.subarray(0, count));
      // Grow while reads come back full (a large message is arriving); shrink after a run of
      // small reads, not one, or a stream of mid-sized messages would reallocate all the time.
      if (count === buffer.length && buffer.length < MAX_READ_BYTES) {
        buffer = new Uint8Array(buffer.length * 4);
        smallReads = 0;
      } else if (count <= buffer.length >> 4 && buffer.length > SHRUNK_READ_BYTES) {
        if (++smallReads === SMALL_READS_BEFORE_SHRINKING) {
          buffer = new Uint8Array(SHRUNK_READ_BYTES);
          smallReads = 0;
        }
      } else {
        smallReads = 0;
      }
    }
    return true;
  }

  /** Whether more than `maxQueuedMessages` wait for the handler. */
  #backlogged(): boolean {
    return this.#inbox.length - this.#inboxHead > this.#settings.maxQueuedMessages;
  }

  #receive(chunk: Uint8Array): void {
    const dataBefore = this.#core.dataReceived;
    const messages = this.#core.receive(chunk);
    if (this.#core.dataReceived !== dataBefore) this.#activeAt = this.#clock.now;
    for (const obligation of this.#core.dataToSend()) this.#outbox.enqueue(obligation, true);
    const traffic = this.#settings.traffic;
    if (traffic) {
      traffic.bytesIn += chunk.length;
      traffic.messagesIn += messages.length;
    }
    if (messages.length === 0) return;
    // A pump kept busy for a long time never empties the inbox: drop the handled front now and then.
    if (this.#inboxHead > 1024 && this.#inboxHead * 2 > this.#inbox.length) {
      this.#inbox = this.#inbox.slice(this.#inboxHead);
      this.#inboxHead = 0;
    }
    for (const message of messages) this.#inbox.push(message);
    if (!this.#pumpRunning) this.#pumping = this.#pump();
  }

  /** Hands queued messages to the handler one at a time; synchronous replies cost no promise. */
  async #pump(): Promise<void> {
    this.#pumpRunning = true;
    try {
      while (this.#inboxHead < this.#inbox.length) {
        const message = this.#inbox[this.#inboxHead]!;
        this.#inbox[this.#inboxHead++] = undefined;
        const pending = this.#handle(message);
        if (pending) await pending;
      }
    } catch (error) {
      this.#settings.onError(error, this);
      // Unknown errors close with 1011 and no detail on the wire.
      if (this.#core.closeSent === null) this.close(CloseCode.InternalError);
    } finally {
      this.#inbox = [];
      this.#inboxHead = 0;
      this.#pumpRunning = false;
      this.#activeAt = this.#clock.now;
      this.#wakeIdleOrClosing();
    }
  }

  #handle(message: Message): Promise<void> | void {
    const reply = this.#handler(message, this);
    if (reply instanceof Promise) return reply.then((value) => this.#sendReply(value, message));
    return this.#sendReply(reply, message);
  }

  /**
   * Queues a reply. A large or received binary one goes out uncopied, so the handler (or the
   * iterator) is not run again until it is written: it may reuse the buffer. Nor is it run again
   * while the queue is over `maxBufferedBytes`: replies wait rather than pile up.
   */
  #sendReply(reply: Reply, message: Message): Promise<void> | void {
    if (reply === undefined || reply === null) return;
    if (typeof reply === "string" || reply instanceof Uint8Array) {
      // The received message itself has a buffer of its own: nothing will reuse it.
      if (this.#queueReply(reply) && reply !== message) return this.#untilWritten();
      return this.#outbox.overLimit ? this.#outbox.belowLimit() : undefined;
    }
    if (Symbol.asyncIterator in reply || Symbol.iterator in reply) return this.#sendReplies(reply);
    throw new TypeError(`a handler returned ${typeof reply}, not a string, bytes or iterable`);
  }

  async #sendReplies(replies: Iterable<Message> | AsyncIterable<Message>): Promise<void> {
    for await (const message of replies) {
      const uncopied = this.#queueReply(message);
      // Closing: the rest would be dropped, so the iterator is not pulled on (a generator's
      // `finally` runs), which also ends one that would never end.
      if (this.#core.closeSent !== null || this.#core.state === "closed") return;
      if (uncopied) await this.#untilWritten();
      else if (this.#outbox.overLimit) await this.#outbox.belowLimit();
    }
  }

  /** Waits until what is queued so far is written or dropped: an uncopied reply is free again. */
  async #untilWritten(): Promise<void> {
    await this.#outbox.written();
  }

  /**
   * Queues one reply and says whether its bytes went uncopied. Once this end's close frame is
   * out, or the transport has ended, replies have nowhere to go and are dropped.
   */
  #queueReply(message: Message): boolean {
    if (typeof message !== "string" && !(message instanceof Uint8Array)) {
      throw new TypeError(`a handler replied with ${typeof message}, not a string or bytes`);
    }
    if (this.#core.closeSent !== null || this.#core.state === "closed") return false;
    const chunks = this.#enqueueMessage(message);
    return typeof message !== "string" && chunks[chunks.length - 1].buffer === message.buffer;
  }

  /**
   * Resolves when the handler has no message left, or when closing starts: this end's close frame
   * is queued, or the transport is closed. A handler may itself be waiting for the close, so
   * waiting for it alone could wait forever.
   */
  #handlerIdleOrClosing(): Promise<void> {
    if (!this.#pumpRunning || this.#core.closeSent !== null || this.#transportEnded) {
      return Promise.resolve();
    }
    this.#idleOrClosing ??= Promise.withResolvers();
    return this.#idleOrClosing.promise;
  }

  /** Ends a wait of {@linkcode #handlerIdleOrClosing}: the handler is idle or closing began. */
  #wakeIdleOrClosing(): void {
    this.#idleOrClosing?.resolve();
    this.#idleOrClosing = undefined;
  }

  /**
   * Checks this connection's deadlines, at the watchdog's sweep. Once the connection is closing,
   * the close deadline bounds what is left; while reading is paused for flow control, the peer's
   * silence and the lack of messages say nothing, so only the slow-consumer grace counts.
   */
  #checkDeadlines(now: number): void {
    try {
      this.#checkDeadlinesAt(now);
    } catch (error) {
      // Whatever goes wrong with one connection must not stop the sweep over the others.
      this.#settings.onError(error, this);
    }
  }

  #checkDeadlinesAt(now: number): void {
    const core = this.#core;
    if (core.state !== "open") return;
    const settings = this.#settings;
    const overLimitSince = this.#outbox.overLimitSince;
    if (
      settings.slowConsumerGraceMs > 0 && overLimitSince !== null &&
      now - overLimitSince >= settings.slowConsumerGraceMs
    ) {
      const { bufferedAmount } = this.#outbox;
      return this.#failSlowConsumer(
        new SlowConsumerError(bufferedAmount, settings.maxBufferedBytes),
      );
    }
    if (this.#readPaused) return;
    const { pingIntervalMs, pingTimeoutMs, idleTimeoutMs } = settings;
    if (pingIntervalMs > 0) {
      if (core.awaitingPong && pingTimeoutMs > 0) {
        if (now - this.#pingedAt >= pingTimeoutMs) {
          return this.#fail(new KeepaliveTimeoutError(pingTimeoutMs));
        }
      } else if (now - Math.max(this.#heardAt, this.#pingedAt) >= pingIntervalMs) {
        // A ping goes ahead of queued messages, as a pong does.
        this.#outbox.enqueue(core.ping(), true);
        this.#pingedAt = now;
      }
    }
    if (idleTimeoutMs > 0 && !this.#pumpRunning && now - this.#activeAt >= idleTimeoutMs) {
      // RFC 6455 §7.4.1: 1001, the endpoint is going away (from this quiet conversation).
      this.close(CloseCode.GoingAway, "idle timeout");
    }
  }

  /** Closes a connection whose peer does not read, and tells `onError` why. */
  #failSlowConsumer(error: SlowConsumerError): void {
    this.#settings.onError(error, this);
    this.#fail(error);
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): what is queued and not yet being written is dropped,
   * the close frame goes next, and TCP is ended once it is written (or after `closeTimeoutMs`),
   * without waiting for the peer's close: it is gone, or not reading.
   */
  #fail(error: ConnectionFailure): void {
    const closeFrame = this.#core.fail(error);
    this.#outbox.dropQueued();
    if (closeFrame) this.#outbox.enqueue(closeFrame, true);
    this.#wakeIdleOrClosing();
    this.#startDeadline();
    this.#outbox.flushed().then(() => this.#endTransport());
  }

  /** Bounds the closing: after `closeTimeoutMs`, TCP is ended whatever the peer does. */
  #startDeadline(): void {
    const { closeTimeoutMs } = this.#settings;
    // Once the transport has ended there is nothing left to bound, and nobody would clear it.
    if (closeTimeoutMs > 0 && !this.#transportEnded) {
      this.#deadlineTimer ??= setTimeout(() => this.#endTransport(), closeTimeoutMs);
    }
  }

  #endTransport(): void {
    closeQuietly(this.#transport);
    this.#transportEnded = true;
    this.#wakeIdleOrClosing();
  }
}
