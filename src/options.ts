/**
 * The options every WebSocket takes, on a server (`ServeOptions`) or a client (`ConnectOptions`):
 * the limits on what the peer sends, flow control both ways, and the deadlines that find dead,
 * idle and slow peers. Defaults are in `src/protocol/limits.ts`, with the reason for each.
 *
 * A time of 0 turns that deadline off; `Infinity` lifts a limit.
 *
 * @module
 */

import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_TIMEOUT_MS,
  DEFAULT_SLOW_CONSUMER_GRACE_MS,
} from "./protocol/limits.ts";

/**
 * What becomes of a message sent (with `send()`) while more than `maxBufferedBytes` are queued
 * for the peer.
 *
 * - `"close"`: it is queued, so nothing is lost while the connection stays open; once the queue
 *   has been over the limit for `slowConsumerGraceMs`, or reaches twice the limit, the connection
 *   is closed with 1008 and a `SlowConsumerError` goes to `onError`.
 * - `"drop"`: it is dropped, and that `send()` rejects with a `SlowConsumerError`; the queue stays
 *   within the limit plus one message. Messages sent before and after arrive whole and in order.
 *   The connection is still closed as under `"close"` if the queue stays over the limit for
 *   `slowConsumerGraceMs`, which then means the peer reads nothing at all.
 *
 * Either way a handler's replies are never dropped: while the queue is over the limit, the
 * handler (and a generator it returned) waits, and the peer is not read.
 *
 * @example
 * ```ts
 * import type { SlowConsumerPolicy } from "./options.ts";
 * const policy: SlowConsumerPolicy = "drop";
 * ```
 */
export type SlowConsumerPolicy = "close" | "drop";

/**
 * Options of one WebSocket connection, shared by `serve()` and `connect()`. Times are in
 * milliseconds; 0 turns a deadline off.
 *
 * @example A server for a live feed: drop what a slow client cannot take, cut idle ones
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * serve({ slowConsumer: "drop", idleTimeoutMs: 300_000, pingIntervalMs: 25_000 }, () => {});
 * ```
 */
export interface WebSocketOptions {
  /**
   * The largest payload of one data frame, in bytes, checked from its header; over it: close
   * 1009. By default only the message limit applies. @default the message limit
   */
  maxFrameBytes?: number;
  /** The most frames one message may come in; over it: close 1008. @default {65536} */
  maxFragments?: number;
  /**
   * Messages that may wait for the handler (or for `receive()`) before the peer is no longer
   * read, so TCP pushes back on it. @default {16}
   */
  maxQueuedMessages?: number;
  /**
   * Bytes queued for the peer, framing included, above which it is a slow consumer: it is not
   * read, the handler's replies wait, and `slowConsumer` decides what a `send()` does.
   * @default {4 MiB}
   */
  maxBufferedBytes?: number;
  /** What a `send()` does while the peer is over `maxBufferedBytes`. @default {"close"} */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * How long the queue for the peer may stay over `maxBufferedBytes` before the connection is
   * closed with 1008; 0 for no time limit. @default {10000}
   */
  slowConsumerGraceMs?: number;
  /**
   * How long nothing may come from the peer before a keepalive ping is sent; 0 for no pings.
   * @default {20000}
   */
  pingIntervalMs?: number;
  /**
   * How long a keepalive ping's pong may take before the connection is failed with 1011
   * ("keepalive ping timeout") and TCP is ended; 0 to ping without waiting for pongs.
   * @default {20000}
   */
  pingTimeoutMs?: number;
  /**
   * How long no message may go either way (keepalive pings and pongs do not count, nor does
   * time the handler spends on a message) before the connection is closed with 1001
   * ("idle timeout"); 0 for never. @default {0}
   */
  idleTimeoutMs?: number;
}

/** {@linkcode WebSocketOptions} with every default filled in. */
export type WebSocketSettings = Required<WebSocketOptions>;

/**
 * Fills in the defaults of `options`, and checks them.
 *
 * @throws {RangeError} for a time below 0, a limit below 1, or an unknown policy.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { webSocketSettings } from "./options.ts";
 * const settings = webSocketSettings({ idleTimeoutMs: 60_000 });
 * assertEquals([settings.idleTimeoutMs, settings.pingIntervalMs], [60_000, 20_000]);
 * ```
 */
export function webSocketSettings(options: WebSocketOptions): WebSocketSettings {
  const settings: WebSocketSettings = {
    maxFrameBytes: options.maxFrameBytes ?? Infinity,
    maxFragments: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
    maxQueuedMessages: options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    slowConsumer: options.slowConsumer ?? "close",
    slowConsumerGraceMs: options.slowConsumerGraceMs ?? DEFAULT_SLOW_CONSUMER_GRACE_MS,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    pingTimeoutMs: options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  };
  for (const name of ["maxFrameBytes", "maxFragments", "maxBufferedBytes"] as const) {
    if (!(settings[name] >= 1)) throw new RangeError(`${name} must be at least 1`);
  }
  if (!(settings.maxQueuedMessages >= 0)) throw new RangeError("maxQueuedMessages must be ≥ 0");
  for (
    const name of [
      "slowConsumerGraceMs",
      "pingIntervalMs",
      "pingTimeoutMs",
      "idleTimeoutMs",
    ] as const
  ) {
    if (!(settings[name] >= 0)) throw new RangeError(`${name} must be ≥ 0 (0 turns it off)`);
  }
  if (settings.slowConsumer !== "close" && settings.slowConsumer !== "drop") {
    throw new RangeError(`slowConsumer must be "close" or "drop", not ${settings.slowConsumer}`);
  }
  return settings;
}
