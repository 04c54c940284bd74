/**
 * A connection's messages as Web Streams: a `ReadableStream` over its inbox, one chunk per
 * message, that holds none of its own, so the inbox's high water mark (`maxQueuedMessages`) is
 * its backpressure; and a `WritableStream` into its outbox whose `ready` waits while more than
 * `maxBufferedBytes` are queued for the peer.
 *
 * @module
 */

import { ConnectionClosedError } from "./protocol/errors.ts";
import type { Message } from "./protocol/message.ts";
import type { ReplyTarget } from "./reply_pump.ts";

/** Where a readable takes its messages from: the connection's inbox. */
export interface MessageSource {
  /** The next message; rejects with `ConnectionClosedError` once there are no more. */
  receive(): Promise<Message>;
}

/**
 * The messages of `source` as a stream, one chunk per message, ending once the connection has.
 * Its high water mark is 0: a message is taken from the inbox only when a read asks for it, so
 * while nobody reads, messages wait in the inbox, and past `maxQueuedMessages` the peer is no
 * longer read. `cancel` hears of the stream being cancelled.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Inbox } from "./inbox.ts";
 * import { messageReadable } from "./message_streams.ts";
 * const inbox = new Inbox(16);
 * inbox.push("a");
 * inbox.end();
 * assertEquals(await Array.fromAsync(messageReadable(inbox, () => {})), ["a"]);
 * ```
 */
export function messageReadable(
  source: MessageSource,
  cancel: (reason: unknown) => void,
): ReadableStream<Message> {
  return new ReadableStream<Message>({
    async pull(controller) {
      let message: Message;
      try {
        message = await source.receive();
      } catch (error) {
        if (error instanceof ConnectionClosedError) return controller.close();
        throw error;
      }
      controller.enqueue(message);
    },
    cancel,
  }, { highWaterMark: 0 });
}

/** Where a writable puts its messages: the connection, as the reply pump sees it. */
export interface MessageSink extends Pick<ReplyTarget, "queueReply" | "overLimit" | "belowLimit"> {
  /** Resolves once what is queued so far is written (true), or dropped or lost (false). */
  written(): Promise<boolean>;
}

/** What a writable does when it is closed or aborted. */
export interface WritableEnds {
  /** `writable.close()`: everything written before it is queued. */
  close(): void;
  /** `writable.abort(reason)`. */
  abort(reason: unknown): void;
}

/**
 * A stream whose every chunk is sent as one message, in order: a string as text, bytes (a
 * `Uint8Array`, another view or an `ArrayBuffer`) as binary. A chunk is queued as it is written,
 * and the write resolves at once, unless more than `maxBufferedBytes` are then queued for the
 * peer (it waits until they are not, so `ready` and `desiredSize` follow that limit: with its
 * high water mark of one message, `desiredSize` is 1, and 0 while the peer is behind), or the
 * message went uncopied (256 KiB of bytes and more: it waits until they are written, after
 * which the writer may reuse them). Nothing written is dropped for a slow peer; a write once this
 * end's close frame is out fails with `ConnectionClosedError`, which ends a pipe into it.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { messageWritable } from "./message_streams.ts";
 * const sent: unknown[] = [];
 * const writable = messageWritable({
 *   queueReply: (message) => (sent.push(message), false),
 *   overLimit: false,
 *   belowLimit: () => Promise.resolve(),
 *   written: () => Promise.resolve(true),
 * }, { close() {}, abort() {} });
 * const writer = writable.getWriter();
 * await writer.write("a");
 * await writer.write(new Uint8Array([1]));
 * assertEquals(sent, ["a", new Uint8Array([1])]);
 * ```
 */
export function messageWritable(
  sink: MessageSink,
  ends: WritableEnds,
): WritableStream<Message> {
  return new WritableStream<Message>({
    write(chunk) {
      const uncopied = sink.queueReply(asMessage(chunk));
      if (uncopied === null) throw new ConnectionClosedError();
      if (uncopied) {
        return sink.written().then((written) => {
          if (!written) throw new ConnectionClosedError("the connection ended before the write");
        });
      }
      if (sink.overLimit) return sink.belowLimit();
    },
    close: () => ends.close(),
    abort: (reason) => ends.abort(reason),
  }, { highWaterMark: 1 });
}

/** A chunk as a message: strings and `Uint8Array`s as they are, other bytes viewed as one. */
function asMessage(chunk: unknown): Message {
  if (typeof chunk === "string" || chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  throw new TypeError(`a message is a string or bytes, not ${typeof chunk}`);
}
