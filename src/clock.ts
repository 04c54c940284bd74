/**
 * Time as the connection layer reads it: the time now, and one-shot timers. Everything that
 * waits for a deadline takes a {@linkcode Clock}, so that tests can run it on a clock of their
 * own, moved by hand, instead of sleeping on real timers.
 *
 * @module
 */

/**
 * A timer's handle, to cancel it with {@linkcode Clock.clearTimeout}: whatever the clock made it
 * (a number on Deno, an object on Bun and Node).
 */
export type TimerId = unknown;

/**
 * The time in milliseconds and timers on it.
 *
 * @example A timer on the system clock
 * ```ts
 * import { SYSTEM_CLOCK } from "./clock.ts";
 * const timer = SYSTEM_CLOCK.setTimeout(() => console.log("late"), 1000);
 * SYSTEM_CLOCK.clearTimeout(timer);
 * ```
 */
export interface Clock {
  /** The time now, in milliseconds from an arbitrary start (`performance.now()`'s). */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now. */
  setTimeout(callback: () => void, ms: number): TimerId;
  /** Cancels a timer that has not fired; one that has is left alone. */
  clearTimeout(timer: TimerId | undefined): void;
}

/**
 * The real clock: `performance.now()` and the runtime's own timers.
 *
 * @example
 * ```ts
 * import { SYSTEM_CLOCK } from "./clock.ts";
 * console.log(SYSTEM_CLOCK.now() > 0); // true
 * ```
 */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};
