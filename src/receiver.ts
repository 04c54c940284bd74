/**
 * Messages for code that pulls them (`receive()`, `for await`) instead of giving a handler.
 *
 * @module
 */

import { ConnectionClosedError } from "./protocol/errors.ts";
import type { Message } from "./protocol/message.ts";

/**
 * Hands a connection's messages to `receive()` calls, one message to each, in order. Its
 * {@linkcode Receiver.offer} is the handler of a connection that has none: it is done with a
 * message once a reader has taken it, so messages not yet taken wait in the connection's inbox,
 * and the connection stops reading from the peer while more than `maxQueuedMessages` wait there,
 * as it does for a slow handler.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Receiver } from "./receiver.ts";
 * const receiver = new Receiver();
 * const taken = receiver.offer("hello");
 * assertEquals(await receiver.receive(), "hello");
 * await taken;
 * ```
 */
export class Receiver {
  /** The message offered and not yet taken, with what to call when it is. */
  #offered: { message: Message; taken: () => void } | null = null;
  /** `receive()` calls waiting for a message, oldest first. */
  #readers: PromiseWithResolvers<Message>[] = [];
  #ended = false;

  /**
   * Offers the next message; resolves once a reader has taken it, or returns nothing when one
   * was already waiting. Only one message is offered at a time.
   */
  readonly offer = (message: Message): Promise<void> | undefined => {
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve(message);
      return;
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#offered = { message, taken: resolve };
    return promise;
  };

  /**
   * The next message; rejects with {@linkcode ConnectionClosedError} once the receiver has ended
   * and every message offered before has been taken.
   */
  receive(): Promise<Message> {
    const offered = this.#offered;
    if (offered) {
      this.#offered = null;
      offered.taken();
      return Promise.resolve(offered.message);
    }
    if (this.#ended) return Promise.reject(new ConnectionClosedError());
    const reader = Promise.withResolvers<Message>();
    this.#readers.push(reader);
    return reader.promise;
  }

  /** Every message until the end; the loop ends when the connection is closed. */
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

  /** Says no message will be offered any more: waiting and later readers are rejected. */
  end(): void {
    this.#ended = true;
    for (const reader of this.#readers.splice(0)) reader.reject(new ConnectionClosedError());
  }
}
