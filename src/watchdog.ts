/**
 * One timer for the deadlines of many connections: a server's keepalive pings and their pongs,
 * idle timeouts and slow consumers are checked by one interval that sweeps all its connections,
 * rather than by a timer per connection, which an idle connection would pay for in memory.
 *
 * @module
 */

import {
  WATCHDOG_CHECKS_PER_DEADLINE,
  WATCHDOG_MAX_PERIOD_MS,
  WATCHDOG_MIN_PERIOD_MS,
} from "./protocol/limits.ts";

/**
 * A clock read without a call: `now` is a time in milliseconds (`performance.now()`'s), moved on
 * by whoever owns it.
 *
 * @example
 * ```ts
 * import type { Clock } from "./watchdog.ts";
 * const stopped: Clock = { now: 0 };
 * ```
 */
export interface Clock {
  /** The time, in milliseconds. */
  readonly now: number;
}

/**
 * Calls `check(item, now)` for every watched item once a period, while there is any: the
 * interval starts with the first item and stops with the last, so it never keeps a process
 * alive by itself. Its `now` is the time of the last sweep, a clock that costs nothing to read:
 * the items stamp their events with it, off by at most one period.
 *
 * @example
 * ```ts
 * import { Watchdog } from "./watchdog.ts";
 * const seen: string[] = [];
 * const watchdog = new Watchdog<string>(10, (item) => seen.push(item));
 * watchdog.add("a connection");
 * await new Promise((resolve) => setTimeout(resolve, 25));
 * watchdog.delete("a connection");
 * console.log(seen.length > 0); // true
 * ```
 */
export class Watchdog<T> implements Clock {
  /** The time of the last sweep (or of the first item's arrival), in milliseconds. */
  now: number = performance.now();
  readonly #periodMs: number;
  readonly #check: (item: T, now: number) => void;
  readonly #watched = new Set<T>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates a watchdog that sweeps every `periodMs` milliseconds. */
  constructor(periodMs: number, check: (item: T, now: number) => void) {
    this.#periodMs = periodMs;
    this.#check = check;
  }

  /** Watches `item` from now on. */
  add(item: T): void {
    if (this.#watched.size === 0) {
      this.now = performance.now();
      this.#timer = setInterval(() => this.#sweep(), this.#periodMs);
    }
    this.#watched.add(item);
  }

  /** Stops watching `item`. */
  delete(item: T): void {
    if (this.#watched.delete(item) && this.#watched.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sweep(): void {
    this.now = performance.now();
    for (const item of this.#watched) this.#check(item, this.now);
  }
}

/**
 * The period that checks deadlines of the given lengths (0 or Infinity for one that is off) often
 * enough: a tenth of the shortest, within 10 ms and 1 s; null when every deadline is off.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { watchdogPeriod } from "./watchdog.ts";
 * assertEquals(watchdogPeriod([20_000, 20_000, 0]), 1_000);
 * assertEquals(watchdogPeriod([300, 0]), 30);
 * assertEquals(watchdogPeriod([0, 0]), null);
 * ```
 */
export function watchdogPeriod(deadlinesMs: readonly number[]): number | null {
  const shortest = Math.min(...deadlinesMs.filter((ms) => ms > 0));
  if (shortest === Infinity) return null;
  return Math.min(
    WATCHDOG_MAX_PERIOD_MS,
    Math.max(WATCHDOG_MIN_PERIOD_MS, shortest / WATCHDOG_CHECKS_PER_DEADLINE),
  );
}
