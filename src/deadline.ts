/**
 * A one-shot deadline: the opening handshake of a server's connection or of a `connect()`, and
 * the polite end of an HTTP response, each get so long and no more.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK, type TimerId } from "./clock.ts";

/**
 * Rejects {@linkcode Deadline.expired} with a reason once `timeoutMs` have passed, or at once
 * when {@linkcode Deadline.cut}; {@linkcode Deadline.clear} stops it. A `timeoutMs` of 0 never
 * comes by itself, as for every other deadline.
 *
 * @example A step that must finish within a second
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Deadline } from "./deadline.ts";
 * const deadline = new Deadline(1000, () => new Error("too slow"));
 * assertEquals(await deadline.race(Promise.resolve("done")), "done");
 * deadline.clear();
 * ```
 */
export class Deadline {
  readonly #expired = Promise.withResolvers<never>();
  readonly #clock: Clock;
  readonly #timer: TimerId | undefined;

  /** Starts the clock; `reason` makes the error `expired` rejects with when the time is up. */
  constructor(timeoutMs: number, reason: () => Error, clock: Clock = SYSTEM_CLOCK) {
    this.#clock = clock;
    // Nobody may be waiting when it comes: that is no error in itself.
    this.#expired.promise.catch(() => {});
    if (timeoutMs > 0) this.#timer = clock.setTimeout(() => this.cut(reason()), timeoutMs);
  }

  /** Rejects once the time is up or the deadline is cut; never resolves. */
  get expired(): Promise<never> {
    return this.#expired.promise;
  }

  /** Settles as `step` does, unless the deadline comes first: then rejects with its reason. */
  race<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.#expired.promise]);
  }

  /** Ends it now: `expired` rejects with `reason`. */
  cut(reason: Error): void {
    this.clear();
    this.#expired.reject(reason);
  }

  /** Stops the clock: the deadline will not come by itself. */
  clear(): void {
    this.#clock.clearTimeout(this.#timer);
  }
}
