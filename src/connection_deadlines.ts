/**
 * The deadlines of one open WebSocket, as a pure check of the time against what happened when:
 * keepalive (a ping after a quiet spell, then its pong in time), the idle timeout, the grace of
 * a slow consumer, and the close timeout. The connection stamps events with its clock's time;
 * the watchdog's sweep asks {@linkcode ConnectionDeadlines.check} what is due, and the connection
 * does it.
 *
 * @module
 */

import type { WebSocketSettings } from "./options.ts";
import type { ConnectionState } from "./protocol/close.ts";

/** The lengths of the deadlines, in milliseconds; 0 turns one off. */
export type DeadlineSettings =
  & Pick<
    WebSocketSettings,
    "pingIntervalMs" | "pingTimeoutMs" | "idleTimeoutMs" | "slowConsumerGraceMs"
  >
  & {
    /** How long the closing may take, from its start to the end of TCP. */
    closeTimeoutMs: number;
  };

/** What a check needs to know of the connection now. */
export interface DeadlineState {
  /** Where the connection is. */
  state: ConnectionState;
  /** Whether the last keepalive ping still waits for its pong. */
  awaitingPong: boolean;
  /** Since when more than `maxBufferedBytes` have been queued for the peer, or null. */
  overLimitSince: number | null;
  /** Whether reading is held back for flow control: the peer's silence then says nothing. */
  readingHeld: boolean;
  /** Whether the handler is working on a message: a connection is not idle meanwhile. */
  handlerBusy: boolean;
}

/**
 * The lengths of the deadlines that can come due, for the watchdog to sweep often enough: a
 * pong's only when pings are sent.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deadlineLengths } from "./connection_deadlines.ts";
 * const settings = { pingIntervalMs: 0, pingTimeoutMs: 20_000, idleTimeoutMs: 0, slowConsumerGraceMs: 10_000, closeTimeoutMs: 5_000 };
 * assertEquals(deadlineLengths(settings), [0, 0, 0, 10_000, 5_000]);
 * ```
 */
export function deadlineLengths(settings: DeadlineSettings): number[] {
  const { pingIntervalMs, pingTimeoutMs, idleTimeoutMs, slowConsumerGraceMs } = settings;
  const pongTimeoutMs = pingIntervalMs > 0 ? pingTimeoutMs : 0;
  return [
    pingIntervalMs,
    pongTimeoutMs,
    idleTimeoutMs,
    slowConsumerGraceMs,
    settings.closeTimeoutMs,
  ];
}

/**
 * What is due at a check, if anything: a keepalive `"ping"`; failing the connection for a
 * `"keepalive timeout"` or a `"slow consumer"`; closing it as `"idle"`; or, once closing has
 * taken too long, ending TCP (`"close timeout"`).
 */
export type DeadlineDue = "ping" | "keepalive timeout" | "slow consumer" | "idle" | "close timeout";

/**
 * When things last happened on one connection, and what is due because of it.
 *
 * @example A quiet peer is pinged after the interval, then failed after the timeout
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ConnectionDeadlines } from "./connection_deadlines.ts";
 * const deadlines = new ConnectionDeadlines({
 *   pingIntervalMs: 20_000, pingTimeoutMs: 20_000, idleTimeoutMs: 0,
 *   slowConsumerGraceMs: 10_000, closeTimeoutMs: 10_000,
 * }, 0);
 * const state = {
 *   state: "open" as const, awaitingPong: false, overLimitSince: null,
 *   readingHeld: false, handlerBusy: false,
 * };
 * assertEquals(deadlines.check(19_999, state), null);
 * assertEquals(deadlines.check(20_000, state), "ping");
 * deadlines.pinged(20_000);
 * assertEquals(deadlines.check(40_000, { ...state, awaitingPong: true }), "keepalive timeout");
 * ```
 */
export class ConnectionDeadlines {
  readonly #settings: DeadlineSettings;
  /** When bytes last came from the peer, for keepalive. */
  #heardAt: number;
  /** When a message last went either way, or the handler last finished, for the idle timeout. */
  #activeAt: number;
  /** When the last keepalive ping was sent. */
  #pingedAt: number;
  /** When closing began, for the close timeout; null while open. */
  #closingSince: number | null = null;

  /** Starts the clocks of a connection that opened at `now`. */
  constructor(settings: DeadlineSettings, now: number) {
    this.#settings = settings;
    this.#heardAt = this.#activeAt = this.#pingedAt = now;
  }

  /** Bytes came from the peer. */
  heard(now: number): void {
    this.#heardAt = now;
  }

  /** A message went either way, or the handler finished one. */
  active(now: number): void {
    this.#activeAt = now;
  }

  /** A keepalive ping was sent. */
  pinged(now: number): void {
    this.#pingedAt = now;
  }

  /**
   * Reading goes on after being held back: nothing was heard while nothing was read, so the
   * keepalive and idle clocks start again, and a pong still unread gets a new deadline.
   */
  resumed(now: number): void {
    this.#heardAt = this.#activeAt = this.#pingedAt = now;
  }

  /** Closing began: the close timeout runs from the first call. */
  closing(now: number): void {
    this.#closingSince ??= now;
  }

  /**
   * What is due at `now`, given the connection's `state`, most pressing first: once closing,
   * only the close timeout; while open, a slow consumer's grace, then (unless reading is held
   * back) a pong too late, the idle timeout, and a ping.
   */
  check(now: number, state: DeadlineState): DeadlineDue | null {
    const settings = this.#settings;
    if (state.state === "closed") return null;
    if (state.state === "closing") {
      const { closeTimeoutMs } = settings;
      const since = this.#closingSince;
      return closeTimeoutMs > 0 && since !== null && now - since >= closeTimeoutMs
        ? "close timeout"
        : null;
    }
    const { slowConsumerGraceMs, pingIntervalMs, pingTimeoutMs, idleTimeoutMs } = settings;
    const overLimitSince = state.overLimitSince;
    if (
      slowConsumerGraceMs > 0 && overLimitSince !== null &&
      now - overLimitSince >= slowConsumerGraceMs
    ) {
      return "slow consumer";
    }
    if (state.readingHeld) return null;
    const waitingForPong = pingIntervalMs > 0 && pingTimeoutMs > 0 && state.awaitingPong;
    if (waitingForPong && now - this.#pingedAt >= pingTimeoutMs) return "keepalive timeout";
    if (idleTimeoutMs > 0 && !state.handlerBusy && now - this.#activeAt >= idleTimeoutMs) {
      return "idle";
    }
    if (
      pingIntervalMs > 0 && !waitingForPong &&
      now - Math.max(this.#heardAt, this.#pingedAt) >= pingIntervalMs
    ) {
      return "ping";
    }
    return null;
  }
}
