/**
 * One timer for the deadlines of many connections: a server's keepalive pings and their pongs,
 * idle timeouts, slow consumers and close timeouts are checked by one sweep over all its
 * connections, rather than by timers per connection, which an idle connection would pay for in
 * memory.
 *
 * @module
 */

import { type Clock, SYSTEM_CLOCK, type TimerId } from "./clock.ts";

/** Each deadline is checked this many times per the shortest of them: at most a tenth late. */
const CHECKS_PER_DEADLINE = 10;

/** The shortest period between two sweeps, in milliseconds, for tiny timeouts. */
const MIN_PERIOD_MS = 10;

/**
 * The longest period between two sweeps, in milliseconds: a second late is nothing next to
 * 20 s, and a sweep over 10 000 idle connections costs well under a millisecond.
 */
const MAX_PERIOD_MS = 1_000;

/**
 * Calls `check(item, now)` for every watched item once a period, while there is any: the timer
 * starts with the first item and stops with the last, so it never keeps a process alive by
 * itself. {@linkcode Watchdog.now} is the time of the last sweep, a clock that costs nothing to
 * read: the items stamp their events with it, off by at most one period.
 *
 * @example On a clock moved by hand
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Watchdog } from "./watchdog.ts";
 * let now = 0;
 * let pending: (() => void) | undefined;
 * const clock = {
 *   now: () => now,
 *   setTimeout: (callback: () => void) => (pending = callback, 1),
 *   clearTimeout: () => pending = undefined,
 * };
 * const seen: number[] = [];
 * const watchdog = new Watchdog<string>(10, (_item, time) => seen.push(time), clock);
 * watchdog.add("a connection");
 * now = 10;
 * pending!();
 * watchdog.delete("a connection");
 * assertEquals([seen, watchdog.now, pending], [[10], 10, undefined]);
 * ```
 */
export class Watchdog<T> {
  /** The time of the last sweep (or of the first item's arrival), in milliseconds. */
  now: number;
  readonly #periodMs: number;
  readonly #check: (item: T, now: number) => void;
  readonly #clock: Clock;
  readonly #watched = new Set<T>();
  #timer: TimerId | undefined;

  /** Creates a watchdog that sweeps every `periodMs` milliseconds of `clock`. */
  constructor(
    periodMs: number,
    check: (item: T, now: number) => void,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.#periodMs = periodMs;
    this.#check = check;
    this.#clock = clock;
    this.now = clock.now();
  }

  /** Watches `item` from now on. */
  add(item: T): void {
    if (this.#watched.size === 0 && this.#timer === undefined) {
      this.now = this.#clock.now();
      this.#arm();
    }
    this.#watched.add(item);
  }

  /** Stops watching `item`. */
  delete(item: T): void {
    if (this.#watched.delete(item) && this.#watched.size === 0) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), this.#periodMs);
  }

  #sweep(): void {
    // Items may be deleted and added by the checks; the timer is armed again once, after them.
    this.#timer = undefined;
    this.now = this.#clock.now();
    for (const item of this.#watched) this.#check(item, this.now);
    if (this.#watched.size > 0 && this.#timer === undefined) this.#arm();
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
  return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, shortest / CHECKS_PER_DEADLINE));
}

/** The watchdog of each owner, made for its first connection; null when it has no deadlines. */
const watchdogs = new WeakMap<object, Watchdog<never> | null>();

/**
 * The one watchdog of `owner` (a server's or a `connect()`'s settings), shared by all its
 * connections: made on first use with the period {@linkcode watchdogPeriod} gives for
 * `deadlinesMs`, and `check` as its check; null when every deadline is off. Later calls for the
 * same owner return the same watchdog, whatever they pass.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sharedWatchdog } from "./watchdog.ts";
 * const settings = {};
 * const watchdog = sharedWatchdog<string>(settings, [20_000], () => {});
 * assertEquals(sharedWatchdog<string>(settings, [5], () => {}), watchdog);
 * assertEquals(sharedWatchdog({}, [0, 0], () => {}), null);
 * ```
 */
export function sharedWatchdog<T>(
  owner: object,
  deadlinesMs: readonly number[],
  check: (item: T, now: number) => void,
  clock: Clock = SYSTEM_CLOCK,
): Watchdog<T> | null {
  let watchdog = watchdogs.get(owner) as Watchdog<T> | null | undefined;
  if (watchdog === undefined) {
    const period = watchdogPeriod(deadlinesMs);
    watchdog = period === null ? null : new Watchdog(period, check, clock);
    watchdogs.set(owner, watchdog as Watchdog<never> | null);
  }
  return watchdog;
}
