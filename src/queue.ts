/**
 * A first-in, first-out queue: the one every waiting line of the connection layer is made of
 * (messages for the handler, readers waiting for a message, chunks a pushing socket delivered
 * ahead of its reader, connections accepted ahead of `accept()`).
 *
 * @module
 */

/** Taken items are dropped from the front of the array once they are this many and half of it. */
const COMPACT_MIN_TAKEN = 1024;

/**
 * A FIFO queue over an array and a head index: `shift()` costs no copy, and the taken front is
 * dropped now and then, so a queue that never empties does not grow without end.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Queue } from "./queue.ts";
 * const queue = new Queue<string>();
 * queue.push("a");
 * queue.push("b");
 * assertEquals([queue.shift(), queue.length, queue.shift(), queue.shift()], ["a", 1, "b", undefined]);
 * ```
 */
export class Queue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** How many items wait. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds `item` at the back. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The front item, left in place; undefined when the queue is empty. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Takes the front item; undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_MIN_TAKEN && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Replaces the front item (a chunk partly taken, say); the queue must not be empty. */
  replaceFront(item: T): void {
    this.#items[this.#head] = item;
  }

  /** Takes every item, front first, and leaves the queue empty. */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
