/**
 * The messages of one connection that wait for their consumer: the reply pump, which hands them
 * to the handler, or `receive()` and `for await` on a connection without a handler.
 *
 * @module
 */

import { ConnectionClosedError } from "./protocol/errors.ts";
import type { Message } from "./protocol/message.ts";
import { Queue } from "./queue.ts";

/**
 * Received messages in order, with high and low water marks for flow control: while more than
 * `highWater` wait, the connection stops reading from the peer ({@linkcode Inbox.full}), and it
 * reads on once no more than `lowWater` wait, so TCP pushes back on a peer that sends faster
 * than the messages are taken.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Inbox } from "./inbox.ts";
 * const inbox = new Inbox(1, 0);
 * inbox.push("a");
 * inbox.push("b");
 * assertEquals(inbox.full, true);
 * const readable = inbox.belowLowWater();
 * assertEquals([await inbox.receive(), inbox.take()], ["a", "b"]);
 * await readable;
 * ```
 */
export class Inbox {
  /** Made with the first message, as the queue below with the first reader: idle, neither is. */
  #messages: Queue<Message> | null = null;
  /** `receive()` calls waiting for a message, oldest first. */
  #readers: Queue<PromiseWithResolvers<Message>> | null = null;
  readonly #highWater: number;
  readonly #lowWater: number;
  /** Whether reading is no longer held back, whatever waits: the connection is closing. */
  #released = false;
  #ended = false;
  #belowLowWater: PromiseWithResolvers<void> | null = null;

  /**
   * Creates the inbox of one connection: reading stops while more than `highWater` messages
   * wait, and goes on at `lowWater`, a quarter of it by default (python-websockets' choice).
   */
  constructor(highWater: number, lowWater = Math.floor(highWater / 4)) {
    this.#highWater = highWater;
    this.#lowWater = lowWater;
  }

  /** How many messages wait. */
  get size(): number {
    return this.#messages?.length ?? 0;
  }

  /** Whether reading from the peer is to stop: more than `highWater` messages wait. */
  get full(): boolean {
    return !this.#released && this.size > this.#highWater;
  }

  /** Adds a message: straight to a waiting `receive()`, if there is one. */
  push(message: Message): void {
    const reader = this.#readers?.shift();
    if (reader) reader.resolve(message);
    else (this.#messages ??= new Queue()).push(message);
  }

  /** Takes the next message, or undefined when none waits: what the reply pump calls. */
  take(): Message | undefined {
    const message = this.#messages?.shift();
    if (this.size <= this.#lowWater) this.#wakeReading();
    return message;
  }

  /**
   * The next message; once {@linkcode end} has been called and every message before it taken,
   * rejects with {@linkcode ConnectionClosedError}.
   */
  receive(): Promise<Message> {
    if (this.size > 0) return Promise.resolve(this.take()!);
    if (this.#ended) return Promise.reject(new ConnectionClosedError());
    const reader = Promise.withResolvers<Message>();
    (this.#readers ??= new Queue()).push(reader);
    return reader.promise;
  }

  /** Every message until the end, as {@linkcode receive} gives them. */
  async *messages(): AsyncGenerator<Message, void, undefined> {
    while (true) {
      let message: Message;
      try {
        message = await this.receive();
      } catch (error) {
        if (error instanceof ConnectionClosedError) return;
        throw error;
      }
      yield message;
    }
  }

  /** Resolves once no more than `lowWater` messages wait, or reading is released. */
  belowLowWater(): Promise<void> {
    if (this.#released || this.size <= this.#lowWater) return Promise.resolve();
    this.#belowLowWater ??= Promise.withResolvers();
    return this.#belowLowWater.promise;
  }

  /**
   * Stops holding reading back, whatever waits: the connection is closing, and what the peer
   * sends up to its close frame must be read.
   */
  releaseReading(): void {
    this.#released = true;
    this.#wakeReading();
  }

  /** Says no message will come any more: waiting and later `receive()` calls are rejected. */
  end(): void {
    this.#ended = true;
    for (const reader of this.#readers?.drain() ?? []) reader.reject(new ConnectionClosedError());
    this.releaseReading();
  }

  #wakeReading(): void {
    this.#belowLowWater?.resolve();
    this.#belowLowWater = null;
  }
}
