/**
 * What hands a connection's messages to the application: the one face its session sees, and the
 * pump each kind of handler gets: the reply pump (`reply_pump.ts`) for a function, the stream
 * pump (`stream_pump.ts`) for a handler that makes a pair of streams.
 *
 * @module
 */

import type { Inbox } from "./inbox.ts";
import { type ReplyHandler, ReplyPump } from "./reply_pump.ts";
import { type StreamHandlerOf, StreamPump, type StreamTarget } from "./stream_pump.ts";

/**
 * A connection's handler, of either kind; `C` is the connection the application sees.
 *
 * @example
 * ```ts
 * import type { HandlerOf } from "./pump.ts";
 * const echo: HandlerOf<unknown> = (message) => message;
 * const piped: HandlerOf<unknown> = { stream: () => new TransformStream() };
 * ```
 */
export type HandlerOf<C> = ReplyHandler<C> | StreamHandlerOf<C>;

/** What a connection's session asks of whatever hands its messages to the application. */
export interface Pump {
  /** Messages were pushed to the inbox. */
  wake(): void;
  /** Whether the application is at work on a message, or messages wait for it. */
  readonly busy: boolean;
  /**
   * Resolves once the messages received so far are answered (the peer's close came after them),
   * or closing began.
   */
  idleOrClosing(): Promise<void>;
  /** This end's close frame is out, or the transport is: replies have nowhere to go. */
  closingBegan(): void;
}

/**
 * Starts the pump of `handler` for `connection`, over its `inbox`, sending to `target`. A
 * stream handler whose `stream()` throws has failed: `target` hears of it, and there is no pump.
 *
 * @example
 * ```ts ignore
 * import { startPump } from "./pump.ts";
 * const pump = startPump((message) => message, inbox, connection, session);
 * ```
 */
export function startPump<C>(
  handler: HandlerOf<C>,
  inbox: Inbox,
  connection: C,
  target: StreamTarget,
): Pump | null {
  if (typeof handler === "function") {
    return new ReplyPump(inbox, handler, connection, target);
  }
  try {
    return new StreamPump(inbox, handler.stream(connection), target);
  } catch (error) {
    target.handlerFailed(error);
    return null;
  }
}
