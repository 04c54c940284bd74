/**
 * Pull-style `accept()` over a listener that pushes: Bun's and Node's listeners hand each new
 * connection to a callback as it opens, while the server accepts with `accept()`, as from a
 * `Deno.Listener`.
 *
 * @module
 */

import { Queue } from "../queue.ts";
import type { Transport } from "../transport.ts";

/**
 * Connections a pushing listener opened, waiting for `accept()`: one that opens while an accept
 * waits goes straight to it, others wait in line for the next. Once closed, waiting connections
 * and new ones are closed, and accepts reject. One accept may wait at a time.
 *
 * @example
 * ```ts
 * import { assertEquals, assertRejects } from "@std/assert";
 * import { AcceptQueue } from "./accept_queue.ts";
 * import type { Transport } from "../transport.ts";
 * const queue = new AcceptQueue();
 * const opened = { remoteAddr: { hostname: "127.0.0.1", port: 1 } } as Transport;
 * queue.push(opened);
 * assertEquals(await queue.accept(), opened);
 * queue.close();
 * await assertRejects(() => queue.accept());
 * ```
 */
export class AcceptQueue {
  readonly #opened = new Queue<Transport>();
  #waiting: PromiseWithResolvers<Transport> | null = null;
  /** A failed accept that came with no accept waiting, for the next one. */
  #failure: Error | null = null;
  #closed = false;

  /** Hands `transport`, just opened, to the waiting accept or the next; closes it once closed. */
  push(transport: Transport): void {
    if (this.#closed) return transport.close();
    const waiting = this.#waiting;
    if (waiting === null) return this.#opened.push(transport);
    this.#waiting = null;
    waiting.resolve(transport);
  }

  /** Fails the waiting accept, or the next, with `error`: the listener could not accept one. */
  fail(error: Error): void {
    const waiting = this.#waiting;
    if (waiting === null) {
      this.#failure = error;
      return;
    }
    this.#waiting = null;
    waiting.reject(error);
  }

  /** Waits for the next connection; rejects once closed. */
  accept(): Promise<Transport> {
    const transport = this.#opened.shift();
    if (transport !== undefined) return Promise.resolve(transport);
    if (this.#closed) {
      return Promise.reject(new Error("the listener is closed"));
    }
    const failure = this.#failure;
    if (failure !== null) {
      this.#failure = null;
      return Promise.reject(failure);
    }
    if (this.#waiting !== null) {
      return Promise.reject(new Error("an accept is already waiting"));
    }
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  /** Closes the connections nobody accepted (nobody else would), and rejects the waiting accept. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#opened.drain()) transport.close();
    this.#waiting?.reject(new Error("the listener is closed"));
    this.#waiting = null;
  }
}
