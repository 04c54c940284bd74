/**
 * What runs one open WebSocket behind its public face (`websocket.ts`): the glue between the
 * pieces that do the work. The read loop (`read_loop.ts`) feeds the transport's bytes to the
 * protocol (`protocol/protocol.ts`), whose messages wait in the inbox (`inbox.ts`) for the reply
 * pump (`reply_pump.ts`) or for `receive()`; everything the protocol sends waits in the outbox
 * (`outbox.ts`) for the transport; the watchdog (`watchdog.ts`) asks the deadlines
 * (`connection_deadlines.ts`) what is due. A session only passes things between them.
 *
 * @module
 */

import { SYSTEM_CLOCK } from "./clock.ts";
import { ConnectionDeadlines, deadlineLengths } from "./connection_deadlines.ts";
import { Inbox } from "./inbox.ts";
import { Outbox, type OutboxOwner } from "./outbox.ts";
import { CloseCode } from "./protocol/close_code.ts";
import {
  ConnectionClosedError,
  type ConnectionFailure,
  KeepaliveTimeoutError,
  SlowConsumerError,
} from "./protocol/errors.ts";
import type { Extension } from "./protocol/extension.ts";
import type { Message } from "./protocol/message.ts";
import type { PreparedMessage } from "./protocol/prepared_message.ts";
import type { CloseInfo, ConnectionState } from "./protocol/close.ts";
import { Protocol } from "./protocol/protocol.ts";
import { ReadBuffer, readUntilEnd } from "./read_loop.ts";
import { type Pump, startPump } from "./pump.ts";
import type { SessionSettings } from "./session_settings.ts";
import { admitOverLimit } from "./slow_consumer.ts";
import type { StreamTarget } from "./stream_pump.ts";
import type { Subscriber, Topics } from "./topics.ts";
import { closeQuietly, type ReadTarget, type Transport } from "./transport.ts";
import { sharedWatchdog, type Watchdog } from "./watchdog.ts";

/**
 * Runs one WebSocket whose handshake is done, for `connection`: the read loop's target, the
 * reply pump's, and what the application's calls come down to.
 *
 * @example
 * ```ts ignore
 * import { Session } from "./session.ts";
 * const session = new Session(connection, transport, settings);
 * session.run(new Uint8Array(0));
 * await session.send("hello");
 * ```
 */
export class Session<C> implements ReadTarget, StreamTarget, Subscriber, OutboxOwner {
  readonly #connection: C;
  readonly #transport: Transport;
  readonly #settings: SessionSettings<C>;
  readonly #protocol: Protocol;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  /** Hands messages to the handler, once running; null on a connection without one. */
  #pump: Pump | null = null;
  readonly #deadlines: ConnectionDeadlines;
  /** Sweeps this session's deadlines with the others of its settings; null when all are off. */
  readonly #watchdog: Watchdog<Session<C>> | null;
  /** Made only when someone waits: an idle connection holds as few promises as it can. */
  #closed: PromiseWithResolvers<CloseInfo> | undefined;
  #run: Promise<void> | undefined;
  /** Whether reading is held back for flow control: then the peer's silence means nothing. */
  #readingHeld = false;
  /** This end's answer to the peer's close (or violation), once the handler is idle; or null. */
  #answer: Promise<void> | null = null;

  /** Runs `transport` for `connection`, with the extension the handshake agreed on, if any. */
  constructor(
    connection: C,
    transport: Transport,
    settings: SessionSettings<C>,
    extension?: Extension,
  ) {
    this.#connection = connection;
    this.#transport = transport;
    this.#settings = settings;
    this.#watchdog = sharedWatchdog<Session<C>>(
      settings,
      deadlineLengths(settings),
      (session, now) => session.#checkDeadlines(now),
      settings.clock ?? SYSTEM_CLOCK,
    );
    this.#outbox = new Outbox(transport, this, settings);
    this.#protocol = new Protocol({ ...settings, extension }, this.#outbox);
    this.#inbox = new Inbox(settings.maxQueuedMessages);
    this.#deadlines = new ConnectionDeadlines(settings, this.now());
  }

  /** Resolves with how the connection ended, once its transport is closed. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === undefined) {
      this.#closed = Promise.withResolvers();
      if (this.#protocol.state === "closed") this.#closed.resolve(this.#protocol.closeInfo);
    }
    return this.#closed.promise;
  }

  /** Where the connection is. */
  get state(): ConnectionState {
    return this.#protocol.state;
  }

  /** Bytes queued for the peer and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#outbox.bufferedAmount;
  }

  /** Whether messages go to a handler rather than to {@linkcode receive}. */
  get hasHandler(): boolean {
    return this.#settings.handler !== undefined;
  }

  /** Sends a message, under the slow-consumer policy; resolves once it is written. */
  async send(message: Message): Promise<void> {
    if (this.#protocol.closeSent === null) {
      const refused = this.#admit();
      if (refused) throw refused;
    }
    this.#queueMessage(message);
    if (!await this.#outbox.written()) {
      throw new ConnectionClosedError("the connection ended before the message was written");
    }
  }

  /** Queues a message published to a topic; see {@linkcode Subscriber.deliver}. */
  deliver(message: PreparedMessage, compress: boolean): boolean {
    const protocol = this.#protocol;
    if (protocol.closeSent !== null || protocol.state === "closed" || this.#admit()) return false;
    protocol.sendPrepared(message, compress);
    this.#sent();
    return true;
  }

  /** This connection's server's topics. @throws {TypeError} on a client's connection. */
  get topics(): Topics<Subscriber> {
    const { topics } = this.#settings;
    if (topics === undefined) throw new TypeError("topics are a server's: this is a client");
    return topics;
  }

  /** The next message, on a connection without a handler. */
  receive(): Promise<Message> {
    return this.#inbox.receive();
  }

  /** Every message, on a connection without a handler, until the end. */
  messages(): AsyncGenerator<Message, void, undefined> {
    return this.#inbox.messages();
  }

  /** Starts the close handshake, unless this end's close frame is already out. */
  close(code: number, reason: string): void {
    const protocol = this.#protocol;
    if (protocol.closeSent !== null || protocol.state === "closed") return;
    protocol.close(code, reason);
    this.#closeSent();
  }

  /** Runs the connection until its transport is closed, once; it never rejects. */
  run(rest: Uint8Array, readBuffer?: Uint8Array): Promise<void> {
    return this.#run ??= this.#runOnce(rest, new ReadBuffer(readBuffer));
  }

  // The read loop's target.

  /** See {@linkcode ReadTarget.holdReading}. */
  holdReading(): Promise<unknown> | null {
    // Closing: read on, to the peer's close or the end of the stream.
    if (this.#protocol.state !== "open") return null;
    const outbox = this.#outbox;
    const inbox = this.#inbox;
    const hold = outbox.overLimit ? outbox.belowLimit() : inbox.full ? inbox.belowLowWater() : null;
    this.#readingHeld = hold !== null;
    return hold;
  }

  /** See {@linkcode ReadTarget.resumed}. */
  resumed(): void {
    this.#readingHeld = false;
    this.#deadlines.resumed(this.now());
  }

  /** Feeds bytes to the protocol, and its messages to the inbox. */
  received(bytes: Uint8Array, owned: boolean): void {
    const protocol = this.#protocol;
    const now = this.now();
    this.#deadlines.heard(now);
    const dataBefore = protocol.dataReceived;
    const messages = protocol.receiveData(bytes, owned);
    if (protocol.dataReceived !== dataBefore) this.#deadlines.active(now);
    const traffic = this.#settings.traffic;
    if (traffic) {
      traffic.bytesIn += bytes.length;
      traffic.messagesIn += messages.length;
    }
    for (const message of messages) this.#inbox.push(message);
    if (messages.length > 0) this.#pump?.wake();
    if (protocol.closeOwed) this.#answer ??= this.#answerClose();
  }

  // The outbox's owner.

  /** The time, as the watchdog last read it: events are stamped with it. */
  now(): number {
    return this.#watchdog?.now ?? 0;
  }

  /** See {@linkcode OutboxOwner.outboxClosed}: the handler hears the connection is closing. */
  outboxClosed(): void {
    this.#pump?.closingBegan();
  }

  // The reply pump's target.

  /** See {@linkcode ReplyTarget.queueReply}. */
  queueReply(message: Message): boolean | null {
    const protocol = this.#protocol;
    if (protocol.closeSent !== null || protocol.state === "closed") return null;
    return this.#queueMessage(message);
  }

  /** Whether more than `maxBufferedBytes` are queued for the peer. */
  get overLimit(): boolean {
    return this.#outbox.overLimit;
  }

  /** See {@linkcode ReplyTarget.belowLimit}. */
  belowLimit(): Promise<void> {
    return this.#outbox.belowLimit();
  }

  /** See {@linkcode ReplyTarget.written}. */
  written(): Promise<boolean> {
    return this.#outbox.written();
  }

  /** See {@linkcode ReplyTarget.handlerFailed}. */
  handlerFailed(error: unknown): void {
    this.#settings.onError(error, this.#connection);
    // Unknown errors close with 1011 and no detail on the wire.
    this.close(CloseCode.InternalError, "");
  }

  /** See {@linkcode ReplyTarget.idle}. */
  idle(): void {
    this.#deadlines.active(this.now());
  }

  /** See {@linkcode StreamTarget.pipelineEnded}; the peer's close, if it came, is answered. */
  pipelineEnded(): void {
    if (!this.#protocol.closeOwed) this.close(CloseCode.Normal, "");
  }

  async #runOnce(rest: Uint8Array, buffer: ReadBuffer): Promise<void> {
    this.#watchdog?.add(this);
    this.#deadlines.resumed(this.now());
    try {
      // Made once running, so that a stream handler sees the connection's data.
      const { handler } = this.#settings;
      if (handler) this.#pump = startPump(handler, this.#inbox, this.#connection, this);
      // What followed the handshake is a copy of the head parser's.
      if (rest.length > 0) this.received(rest, true);
      await readUntilEnd(this.#transport, buffer, this);
      if (this.#protocol.state === "closing") {
        // The peer has ended its side, which may still read: the close this end owes it, and
        // what is queued before that, go out first, within the close timeout.
        await this.#answer;
        await this.#outbox.flushed();
      }
    } catch (error) {
      this.#settings.onError(error);
    } finally {
      this.#watchdog?.delete(this);
      this.#settings.topics?.leaveAll(this);
      closeQuietly(this.#transport);
      this.#protocol.receiveEof();
      this.#pump?.closingBegan();
      this.#inbox.end();
      this.#closed?.resolve(this.#protocol.closeInfo);
      this.#settings.onEnd?.(this.#connection);
    }
  }

  /**
   * Applies the slow-consumer policy to a message about to be queued: null when it may be, or
   * the error for why not, once the policy has done its part (failed the connection, under
   * `"close"` past twice the limit).
   */
  #admit(): SlowConsumerError | null {
    if (!this.#outbox.overLimit) return null;
    const { maxBufferedBytes, slowConsumer } = this.#settings;
    const buffered = this.#outbox.bufferedAmount;
    const admitted = admitOverLimit(slowConsumer, buffered, maxBufferedBytes);
    if (admitted === "queue") return null;
    const error = new SlowConsumerError(buffered, maxBufferedBytes);
    if (admitted === "fail") this.#failSlowConsumer(error);
    return error;
  }

  /** Sends a message through the protocol; says whether its bytes went uncopied. */
  #queueMessage(message: Message): boolean {
    const uncopied = this.#protocol.send(message);
    this.#sent();
    return uncopied;
  }

  /** A message went out: it counts as activity, and in the traffic. */
  #sent(): void {
    this.#deadlines.active(this.now());
    if (this.#settings.traffic) this.#settings.traffic.messagesOut++;
  }

  /**
   * Answers the peer's close, or its violation, with this end's close frame once the handler has
   * answered the messages that came before it, unless the handler closes meanwhile. Messages for
   * `receive()` have no replies to wait for, and stay readable after the close.
   */
  async #answerClose(): Promise<void> {
    this.#closingBegan();
    try {
      if (this.#pump) await this.#pump.idleOrClosing();
      if (this.#protocol.closeOwed && !this.#outbox.closed) {
        this.#protocol.close();
        this.#closeSent();
      }
    } catch (error) {
      this.#settings.onError(error, this.#connection);
    }
  }

  /** This end's close frame is queued: replies have nowhere to go. */
  #closeSent(): void {
    this.#pump?.closingBegan();
    this.#closingBegan();
  }

  /** Closing began, from either end: the close timeout runs, and the peer is read to its end. */
  #closingBegan(): void {
    this.#deadlines.closing(this.now());
    this.#inbox.releaseReading();
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
      this.#settings.onError(error, this.#connection);
    }
  }

  /** Closes a connection whose peer does not read, and tells `onError` why. */
  #failSlowConsumer(error: SlowConsumerError): void {
    this.#settings.onError(error, this.#connection);
    this.#fail(error);
  }

  /** Fails the connection for a reason found here: the protocol sends the close and ends TCP. */
  #fail(error: ConnectionFailure): void {
    this.#protocol.fail(error);
    this.#closeSent();
  }
}
