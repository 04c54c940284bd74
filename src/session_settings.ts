/**
 * What a session needs from the server or client that runs it: the settings its connections
 * share.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { WebSocketSettings } from "./options.ts";
import type { HandlerOf } from "./pump.ts";
import type { Subscriber, Topics } from "./topics.ts";
import type { Traffic } from "./traffic.ts";

/**
 * What a session needs from the server or client that runs it; `C` is the connection the
 * application sees, which the hooks are given. The sessions that share one settings object (a
 * server's, a `connect()`'s) share the one timer that checks their deadlines.
 *
 * @example
 * ```ts ignore
 * import type { SessionSettings } from "./session_settings.ts";
 * const settings: SessionSettings<WebSocketConnection> = {
 *   ...webSocketSettings,
 *   role: "server",
 *   maxMessageBytes: 1 << 20,
 *   closeTimeoutMs: 5_000,
 *   onError: console.error,
 * };
 * ```
 */
export interface SessionSettings<C> extends WebSocketSettings {
  /**
   * Which end this is. A client masks what it sends, expects unmasked frames, and leaves ending
   * TCP to the server (RFC 6455 §5.1, §7.1.1).
   */
  role: "server" | "client";
  /** The largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** How long the closing may take, from its start to the end of TCP, in milliseconds; 0 for ever. */
  closeTimeoutMs: number;
  /**
   * The message handler, or a handler that makes a pair of streams for the messages to go
   * through; without one, messages wait for `receive()`, `for await` or `readable`.
   */
  handler?: HandlerOf<C>;
  /** Hears of a connection's handler errors, and (without a connection) of the server's own. */
  onError: (error: unknown, connection?: C) => void;
  /** Called once a connection has ended, its transport closed. */
  onEnd?: (connection: C) => void;
  /** Where the connection counts its messages and bytes; shared by a server's connections. */
  traffic?: Traffic;
  /** The clock its deadlines run on. @default {SYSTEM_CLOCK} */
  clock?: Clock;
  /** The server's topics; a client's connections have none. */
  topics?: Topics<Subscriber>;
}
