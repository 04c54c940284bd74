/**
 * The slow-consumer policy at the moment of a `send()`: what becomes of a message sent while
 * more than `maxBufferedBytes` are queued for the peer. The other half of the policy, the grace
 * time, is a deadline (`connection_deadlines.ts`).
 *
 * @module
 */

import type { SlowConsumerPolicy } from "./options.ts";

/**
 * The queue for a slow consumer may grow to this many times `maxBufferedBytes` during its grace
 * time, through sends nobody awaits (which nothing can pause); a send beyond it closes the
 * connection at once, so one peer can hold only this much of the server's memory.
 */
export const SLOW_CONSUMER_CEILING_FACTOR = 2;

/**
 * What a `send()` made while the peer is over the limit comes to: `"queue"` it; `"drop"` it
 * (the `"drop"` policy: that send rejects); or `"fail"` the connection (the `"close"` policy, once
 * the queue is past twice the limit).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { admitOverLimit } from "./slow_consumer.ts";
 * assertEquals(admitOverLimit("close", 5, 4), "queue");
 * assertEquals(admitOverLimit("close", 9, 4), "fail");
 * assertEquals(admitOverLimit("drop", 5, 4), "drop");
 * ```
 */
export function admitOverLimit(
  policy: SlowConsumerPolicy,
  bufferedAmount: number,
  maxBufferedBytes: number,
): "queue" | "drop" | "fail" {
  if (policy === "drop") return "drop";
  return bufferedAmount <= maxBufferedBytes * SLOW_CONSUMER_CEILING_FACTOR ? "queue" : "fail";
}
