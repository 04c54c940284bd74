/**
 * The reply pump of a connection with a handler: it takes the connection's messages from its
 * inbox one at a time, hands each to the handler, and queues what the handler returns, in order,
 * waiting where the peer is behind.
 *
 * @module
 */

import type { Inbox } from "./inbox.ts";
import type { Message } from "./protocol/message.ts";

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
 * A handler that returns its replies: called with each message and the connection it came on.
 *
 * @example
 * ```ts
 * import type { ReplyHandler } from "./reply_pump.ts";
 * const echo: ReplyHandler<unknown> = (message) => message;
 * ```
 */
export type ReplyHandler<C> = (message: Message, connection: C) => Reply | Promise<Reply>;

/** What the pump needs of its connection: where replies go, and its flow control. */
export interface ReplyTarget {
  /**
   * Queues a reply and says whether its bytes went uncopied, so the handler must not be run again
   * until they are written (it may reuse them); null when the connection is closing and the reply
   * was dropped, as it has nowhere to go.
   */
  queueReply(message: Message): boolean | null;
  /** Whether more than `maxBufferedBytes` are queued for the peer. */
  readonly overLimit: boolean;
  /** Resolves once no more than `maxBufferedBytes` are queued, or nothing more will be written. */
  belowLimit(): Promise<void>;
  /** Resolves once what is queued so far is written or dropped. */
  written(): Promise<unknown>;
  /** Hears of a handler that threw or rejected: the connection is then closed with 1011. */
  handlerFailed(error: unknown): void;
  /** Hears that the handler has finished every message there was. */
  idle(): void;
}

/**
 * Hands messages to the handler one at a time, so replies go out in the order of the messages
 * they answer. A handler that returns at once costs no promise per message. A reply whose bytes
 * went uncopied, or one queued while the peer is over `maxBufferedBytes`, holds the next message
 * back until it is written, or the queue is below the limit: replies wait rather than pile up.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Inbox } from "./inbox.ts";
 * import { ReplyPump } from "./reply_pump.ts";
 * const replies: unknown[] = [];
 * const inbox = new Inbox(16);
 * const pump = new ReplyPump(inbox, (message) => `echo ${message}`, undefined, {
 *   queueReply: (message) => (replies.push(message), false),
 *   overLimit: false,
 *   belowLimit: () => Promise.resolve(),
 *   written: () => Promise.resolve(),
 *   handlerFailed: console.error,
 *   idle() {},
 * });
 * inbox.push("a");
 * inbox.push("b");
 * pump.wake();
 * await pump.idleOrClosing();
 * assertEquals(replies, ["echo a", "echo b"]);
 * ```
 */
export class ReplyPump<C> {
  readonly #inbox: Inbox;
  readonly #handler: ReplyHandler<C>;
  readonly #connection: C;
  readonly #target: ReplyTarget;
  #busy = false;
  #closing = false;
  /** Whether the handler threw: it is given no more messages. */
  #failed = false;
  /** Wakes a wait for the pump to be idle or closing to begin, made only while one waits. */
  #idleOrClosing: PromiseWithResolvers<void> | null = null;

  /** Creates the pump of `handler`, which is called with each message and `connection`. */
  constructor(inbox: Inbox, handler: ReplyHandler<C>, connection: C, target: ReplyTarget) {
    this.#inbox = inbox;
    this.#handler = handler;
    this.#connection = connection;
    this.#target = target;
  }

  /** Whether the handler is at work on a message, or messages wait for it. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Starts handing messages over, unless it already is, or the handler has failed: call it after
   * messages were pushed.
   */
  wake(): void {
    if (this.#busy || this.#failed) return;
    this.#busy = true;
    this.#run();
  }

  /**
   * Resolves once the handler has no message left, or once {@linkcode closingBegan} is called.
   * A handler may itself wait for the connection to close, so waiting for it alone could wait
   * for ever.
   */
  idleOrClosing(): Promise<void> {
    if (!this.#busy || this.#closing) return Promise.resolve();
    this.#idleOrClosing ??= Promise.withResolvers();
    return this.#idleOrClosing.promise;
  }

  /**
   * Says the connection is closing: waits of {@linkcode idleOrClosing} end. Messages already
   * received are still handed to the handler; replies to them are dropped.
   */
  closingBegan(): void {
    this.#closing = true;
    this.#wakeWaiters();
  }

  /**
   * Hands messages over while the handler's replies need no wait, with no promise of its own; at
   * the first that does, goes on once it is over.
   */
  #run(): void {
    try {
      for (let message = this.#inbox.take(); message !== undefined; message = this.#inbox.take()) {
        const reply = this.#handler(message, this.#connection);
        const pending = reply instanceof Promise
          ? reply.then((value) => this.#send(value, message!))
          : this.#send(reply, message);
        if (pending) {
          pending.then(() => this.#run(), (error) => this.#fail(error));
          return;
        }
      }
    } catch (error) {
      return this.#fail(error);
    }
    this.#stop();
  }

  /** The handler threw or rejected: it is given no more messages. */
  #fail(error: unknown): void {
    this.#failed = true;
    try {
      this.#target.handlerFailed(error);
    } finally {
      this.#stop();
    }
  }

  /** Every message there was is handled, or the handler failed: the pump is idle. */
  #stop(): void {
    this.#busy = false;
    this.#target.idle();
    this.#wakeWaiters();
  }

  /** Queues a reply; what it returns is what to wait for before the next message. */
  #send(reply: Reply, message: Message): Promise<unknown> | void {
    if (reply === undefined || reply === null) return;
    if (typeof reply === "string" || reply instanceof Uint8Array) {
      // The received message is a buffer of its own: nothing will reuse it.
      if (this.#queue(reply) && reply !== message) return this.#target.written();
      return this.#target.overLimit ? this.#target.belowLimit() : undefined;
    }
    if (typeof reply === "object" && (Symbol.asyncIterator in reply || Symbol.iterator in reply)) {
      return this.#sendAll(reply);
    }
    throw new TypeError(`a handler returned ${typeof reply}, not a string, bytes or iterable`);
  }

  async #sendAll(replies: Iterable<Message> | AsyncIterable<Message>): Promise<void> {
    for await (const message of replies) {
      const uncopied = this.#queue(message);
      // Closing: the rest would be dropped, so the iterator is not pulled on (a generator's
      // `finally` runs), which also ends one that would never end.
      if (uncopied === null) return;
      if (uncopied) await this.#target.written();
      else if (this.#target.overLimit) await this.#target.belowLimit();
    }
  }

  /** Queues one reply; see {@linkcode ReplyTarget.queueReply}. */
  #queue(message: Message): boolean | null {
    if (typeof message !== "string" && !(message instanceof Uint8Array)) {
      throw new TypeError(`a handler replied with ${typeof message}, not a string or bytes`);
    }
    return this.#target.queueReply(message);
  }

  #wakeWaiters(): void {
    this.#idleOrClosing?.resolve();
    this.#idleOrClosing = null;
  }
}
