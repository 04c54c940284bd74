/**
 * Counters of the traffic of a server's (or a client's) WebSockets, kept as it happens: a few
 * additions per message and per read or write, cheap enough to leave on.
 *
 * @module
 */

/**
 * Messages and bytes, both ways, over every WebSocket that shares this object. Bytes are those of
 * the WebSocket protocol, framing included, after the handshake: what was read, and what was
 * written.
 *
 * @example
 * ```ts
 * import { newTraffic } from "./traffic.ts";
 * const traffic = newTraffic();
 * traffic.messagesIn++;
 * console.log(traffic);
 * ```
 */
export interface Traffic {
  /** Messages received. */
  messagesIn: number;
  /** Messages queued to send (whole messages; control frames are not counted). */
  messagesOut: number;
  /** Bytes read from peers. */
  bytesIn: number;
  /** Bytes written to peers. */
  bytesOut: number;
}

/**
 * Counters at zero.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { newTraffic } from "./traffic.ts";
 * assertEquals(newTraffic().bytesIn, 0);
 * ```
 */
export function newTraffic(): Traffic {
  return { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
}
