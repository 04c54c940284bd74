/**
 * The pump of a connection whose handler is a pair of streams, such as a
 * `TransformStream<Message, Message>`: the connection's messages go into its writable side in
 * order, and what comes out of its readable side is sent, in order, through the same streams the
 * connection's `readable` and `writable` are made of (`message_streams.ts`), so their flow
 * control is the connection's.
 *
 * @module
 */

import type { Inbox } from "./inbox.ts";
import { messageReadable, type MessageSink, messageWritable } from "./message_streams.ts";
import { ConnectionClosedError } from "./protocol/errors.ts";
import type { Message } from "./protocol/message.ts";
import type { ReplyTarget } from "./reply_pump.ts";

/**
 * A handler that makes a pair of streams for each connection (`connection` is the connection the
 * application sees): its messages are written to the pair's `writable`, and what its `readable`
 * gives is sent back.
 *
 * @example An upper-casing echo
 * ```ts
 * import type { StreamHandlerOf } from "./stream_pump.ts";
 * const upper: StreamHandlerOf<unknown> = {
 *   stream: () =>
 *     new TransformStream({
 *       transform: (message, out) =>
 *         out.enqueue(typeof message === "string" ? message.toUpperCase() : message),
 *     }),
 * };
 * ```
 */
export interface StreamHandlerOf<C> {
  /** Makes the streams one connection's messages go through. */
  stream(connection: C): ReadableWritablePair<Message, Message>;
}

/** What the stream pump needs of its connection. */
export interface StreamTarget extends Omit<ReplyTarget, "written">, MessageSink {
  /**
   * The pair's readable side has ended, the pipeline with it: on an open connection, this end
   * closes it (1000), as closing a `WebSocketStream`'s writable does.
   */
  pipelineEnded(): void;
}

/**
 * Pipes a connection's messages through `pair` and sends what comes out, in order. A pair that
 * errors (a transform that throws) goes to `handlerFailed`, which closes the connection with
 * 1011. While the pair's writable side pushes back, the inbox fills, and past
 * `maxQueuedMessages` the peer is no longer read; while more than `maxBufferedBytes` are queued
 * for the peer, the pair's readable side is not read.
 *
 * @example
 * ```ts ignore
 * import { StreamPump } from "./stream_pump.ts";
 * const pump = new StreamPump(inbox, new TransformStream(), session);
 * ```
 */
export class StreamPump {
  readonly #inbox: Inbox;
  readonly #target: StreamTarget;
  /** Whether a message was handed over and the pipeline has not asked for the next one yet. */
  #busy = false;
  #closing = false;
  #ended = false;
  #waiting: PromiseWithResolvers<void> | null = null;

  /** Starts the pipeline: the inbox's messages through `pair`, to `target`. */
  constructor(inbox: Inbox, pair: ReadableWritablePair<Message, Message>, target: StreamTarget) {
    this.#inbox = inbox;
    this.#target = target;
    // Cancels and aborts come of the pipe ending, whose outcome is handled below.
    const readable = messageReadable({ receive: () => this.#next() }, () => {});
    const writable = messageWritable(target, { close: () => target.pipelineEnded(), abort() {} });
    let piped: Promise<void>;
    try {
      piped = readable.pipeThrough(pair).pipeTo(writable);
    } catch (error) {
      piped = Promise.reject(error);
    }
    piped.then(() => this.#end(), (error) => {
      // Writes after this end's close are refused: the pipeline ends, nothing failed.
      if (!(error instanceof ConnectionClosedError)) target.handlerFailed(error);
      this.#end();
    });
  }

  /** Whether a message is in the pipeline, or messages wait for it. */
  get busy(): boolean {
    return this.#busy || this.#inbox.size > 0;
  }

  /** The pipeline reads the inbox by itself: nothing to wake. */
  wake(): void {}

  /**
   * The peer's close (or its violation) has come, after which no message does: the pipeline's
   * input ends after the messages before it. Resolves once the pipeline has ended, so that their
   * replies go out before this end's close frame, or once closing began from this end.
   */
  idleOrClosing(): Promise<void> {
    this.#inbox.end();
    if (this.#ended || this.#closing) return Promise.resolve();
    this.#waiting ??= Promise.withResolvers();
    return this.#waiting.promise;
  }

  /** This end's close frame is out, or the transport is: the pipeline's waiters go on. */
  closingBegan(): void {
    this.#closing = true;
    this.#wakeWaiters();
  }

  /** The next message for the pipeline: it has finished with the one before. */
  async #next(): Promise<Message> {
    if (this.#busy) {
      this.#busy = false;
      if (this.#inbox.size === 0) this.#target.idle();
    }
    const message = await this.#inbox.receive();
    this.#busy = true;
    return message;
  }

  #end(): void {
    this.#ended = true;
    this.#busy = false;
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    this.#waiting?.resolve();
    this.#waiting = null;
  }
}
