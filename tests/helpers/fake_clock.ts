/**
 * A clock for tests, moved by hand: timers fire when the test advances the time past them, in
 * order, with the promises they start run in between, so deadline tests never sleep.
 */

import type { Clock, TimerId } from "../../src/clock.ts";

/** Lets every promise continuation (and I/O in memory) queued so far run. */
export function settle(): Promise<void> {
  // A macrotask: every microtask queued before it, and those they queue, runs first.
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A {@linkcode Clock} whose time moves only when {@linkcode FakeClock.advance} says. */
export class FakeClock implements Clock {
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(timer: TimerId | undefined): void {
    this.#timers.delete(timer as number);
  }

  /** How many timers wait. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves the time on by `ms`, firing each timer that comes due on the way at its own time, the
   * earliest first, and letting what it starts settle before the next.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].callback();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}
