/**
 * Reads over a socket that pushes: Bun's and Node's sockets hand each chunk to a callback as it
 * arrives. The connection layer either reads with `read(buffer)`, as from a `Deno.TcpConn` (the
 * HTTP head, a request body), or has the chunks delivered to it as they come (an open WebSocket).
 *
 * @module
 */

import { Queue } from "../queue.ts";
import type { ReadTarget } from "../transport.ts";

/**
 * Bytes a pushing socket may deliver ahead of its reader before it is paused: as much as the
 * connection layer's largest read takes at once (its read buffer grows to 256 KiB), so a reader
 * that keeps up is never paused, and one that has stopped holds no more than this beyond the
 * kernel's buffers while TCP pushes back on the peer.
 */
export const MAX_UNREAD_BYTES = 256 * 1024;

/** Chunks waiting for `readChunk()` are joined into one up to this many bytes. */
const JOIN_MAX_BYTES = 16 * 1024;

/** What a {@linkcode PushReader} needs of its socket: a way to stop and restart the pushing. */
export interface PausableSource {
  /** Stops delivering chunks until {@linkcode resume}. */
  pause(): void;
  /** Delivers chunks again. */
  resume(): void;
}

/** A read waiting for data: into a buffer, or (with none) for the next chunk itself. */
interface PendingRead {
  buffer: Uint8Array | null;
  resolve(result: number | Uint8Array | null): void;
  reject(error: Error): void;
}

/**
 * Turns chunks pushed by a socket into `read(buffer)` calls, or hands them on as they come
 * ({@linkcode deliver}). A chunk that arrives while a read waits goes straight into that read's
 * buffer; one that arrives between reads waits for the next read, and once
 * {@linkcode MAX_UNREAD_BYTES} wait, the source is paused until the reader has taken them all. One
 * read, or one delivery, may wait at a time.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PushReader } from "./push_reader.ts";
 * const reader = new PushReader({ pause() {}, resume() {} });
 * reader.push(new Uint8Array([1, 2, 3]));
 * reader.end();
 * const buffer = new Uint8Array(2);
 * assertEquals(await reader.read(buffer), 2);
 * assertEquals(await reader.read(buffer), 1);
 * assertEquals(await reader.read(buffer), null);
 * ```
 */
export class PushReader {
  readonly #source: PausableSource;
  readonly #maxUnreadBytes: number;
  /** Chunks that arrived with no read waiting, oldest first; made with the first. */
  #unread: Queue<Uint8Array> | null = null;
  #unreadBytes = 0;
  #paused = false;
  #pendingRead: PendingRead | null = null;
  /** Where chunks are delivered to, and how the delivery ends; see {@linkcode deliver}. */
  #target: ReadTarget | null = null;
  #delivered: PromiseWithResolvers<void> | null = null;
  /** Whether the target holds reading back: chunks wait, and the source is paused. */
  #held = false;
  /** Once the stream has ended: "eof", or the error it ended with. */
  #end: "eof" | Error | null = null;

  /** Reads from `source`, pausing it once `maxUnreadBytes` wait. */
  constructor(source: PausableSource, maxUnreadBytes = MAX_UNREAD_BYTES) {
    this.#source = source;
    this.#maxUnreadBytes = maxUnreadBytes;
  }

  /** How the stream ended, or null while it goes on. */
  get ended(): "eof" | Error | null {
    return this.#end;
  }

  /**
   * Reads into `buffer`: resolves to the byte count, or null at the end of the stream once every
   * byte pushed before it has been read; rejects with the error the stream ended with.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#unreadBytes > 0) return Promise.resolve(this.#takeUnread(buffer));
    return this.#wait(buffer) as Promise<number | null>;
  }

  /**
   * Reads the next chunk pushed, as it was pushed, uncopied: the caller may keep it. Null at the
   * end of the stream once every chunk pushed before it has been read.
   */
  readChunk(): Promise<Uint8Array | null> {
    if (this.#unreadBytes === 0) return this.#wait(null) as Promise<Uint8Array | null>;
    // Several small chunks waiting are joined into one: a copy of a few bytes costs less than
    // handing each over on its own. A large one goes as it is.
    const unread = this.#unread!;
    const front = unread.peek()!;
    if (unread.length === 1 || front.length >= JOIN_MAX_BYTES) {
      unread.shift();
      this.#unreadBytes -= front.length;
      this.#caughtUp();
      return Promise.resolve(front);
    }
    const joined = new Uint8Array(Math.min(this.#unreadBytes, JOIN_MAX_BYTES));
    return Promise.resolve(joined.subarray(0, this.#takeUnread(joined)));
  }

  /**
   * Hands `target` every chunk, those unread first, then each as it is pushed, uncopied, while the
   * target does not hold reading back; while it does, chunks wait and the source is paused.
   * Resolves once every chunk pushed before the end of the stream is handed on, however it ended;
   * rejects with what the target threw, after which nothing more is handed on.
   */
  deliver(target: ReadTarget): Promise<void> {
    if (this.#busy()) return Promise.reject(new Error("a read is already waiting"));
    this.#target = target;
    this.#delivered = Promise.withResolvers();
    const { promise } = this.#delivered;
    this.#deliverUnread();
    return promise;
  }

  /** Whether a read, or a delivery, waits. */
  #busy(): boolean {
    return this.#pendingRead !== null || this.#target !== null;
  }

  #wait(buffer: Uint8Array | null): Promise<number | Uint8Array | null> {
    if (this.#end === "eof") return Promise.resolve(null);
    if (this.#end !== null) return Promise.reject(this.#end);
    if (this.#busy()) return Promise.reject(new Error("a read is already waiting"));
    return new Promise((resolve, reject) => {
      this.#pendingRead = { buffer, resolve, reject };
    });
  }

  /** Takes a chunk the socket delivered; it is kept, not copied, until read. */
  push(chunk: Uint8Array): void {
    if (this.#end !== null) return;
    const target = this.#target;
    if (target !== null) {
      // Nothing waits unless the target holds reading back.
      if (this.#held) return this.#keepUnread(chunk);
      if (this.#handOn(target, chunk)) this.#holdIfAsked(target);
      return;
    }
    const read = this.#pendingRead;
    if (read === null) return this.#keepUnread(chunk);
    this.#pendingRead = null;
    if (read.buffer === null) return read.resolve(chunk);
    const count = Math.min(chunk.length, read.buffer.length);
    read.buffer.set(count === chunk.length ? chunk : chunk.subarray(0, count));
    if (count < chunk.length) this.#keepUnread(chunk.subarray(count));
    read.resolve(count);
  }

  /**
   * Ends the stream: with "eof" (the peer's FIN, or a close), what is unread can still be read,
   * then reads get null; with an error, reads reject with it once what is unread is taken. Only
   * the first end counts.
   */
  end(end: "eof" | Error = "eof"): void {
    this.#end ??= end;
    if (this.#target !== null && !this.#held) return this.#endDelivery();
    const read = this.#pendingRead;
    if (read === null) return;
    this.#pendingRead = null;
    if (this.#end === "eof") read.resolve(null);
    else read.reject(this.#end);
  }

  /** Ends the stream and drops what is unread: the socket is closed and nobody will read it. */
  discard(): void {
    this.#unread = null;
    this.#unreadBytes = 0;
    // A delivery ends now, held back or not.
    this.#held = false;
    this.end();
  }

  #keepUnread(chunk: Uint8Array): void {
    (this.#unread ??= new Queue()).push(chunk);
    this.#unreadBytes += chunk.length;
    if (this.#unreadBytes >= this.#maxUnreadBytes) this.#pause();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#source.pause();
  }

  /**
   * Hands the unread chunks to the target until it holds reading back, then, once it has them
   * all, resumes the source, or ends the delivery if the stream has ended.
   */
  #deliverUnread(): void {
    const target = this.#target!;
    for (;;) {
      if (this.#holdIfAsked(target)) return;
      const chunk = this.#unread?.shift();
      if (chunk === undefined) break;
      this.#unreadBytes -= chunk.length;
      if (!this.#handOn(target, chunk)) return;
    }
    if (this.#end !== null) this.#endDelivery();
    else this.#caughtUp();
  }

  /** Hands one chunk to the target; false once the delivery has ended, for it threw. */
  #handOn(target: ReadTarget, chunk: Uint8Array): boolean {
    try {
      target.received(chunk, true);
      return this.#target === target;
    } catch (error) {
      this.#failDelivery(error);
      return false;
    }
  }

  /** Asks the target whether to hold reading back: if so, pauses until its hold is over. */
  #holdIfAsked(target: ReadTarget): boolean {
    let hold: Promise<unknown> | null;
    try {
      hold = target.holdReading();
    } catch (error) {
      this.#failDelivery(error);
      return true;
    }
    if (hold === null) return false;
    this.#held = true;
    this.#pause();
    hold.then(
      () => this.#resumeDelivery(target),
      (error) => this.#target === target && this.#failDelivery(error),
    );
    return true;
  }

  /** The target's hold is over: delivery goes on, unless it has ended meanwhile. */
  #resumeDelivery(target: ReadTarget): void {
    if (this.#target !== target) return;
    this.#held = false;
    try {
      target.resumed();
    } catch (error) {
      return this.#failDelivery(error);
    }
    this.#deliverUnread();
  }

  /** Ends the delivery: the stream has ended, and every chunk before the end is handed on. */
  #endDelivery(): void {
    this.#stopDelivering().resolve();
  }

  /** Ends the delivery with what the target threw. */
  #failDelivery(error: unknown): void {
    this.#stopDelivering().reject(error);
  }

  #stopDelivering(): PromiseWithResolvers<void> {
    const delivered = this.#delivered!;
    this.#target = this.#delivered = null;
    this.#held = false;
    return delivered;
  }

  /** Fills `buffer` from the unread chunks; resumes the source once the reader has caught up. */
  #takeUnread(buffer: Uint8Array): number {
    const unread = this.#unread!;
    let count = 0;
    while (count < buffer.length && unread.length > 0) {
      const chunk = unread.peek()!;
      const taken = Math.min(chunk.length, buffer.length - count);
      buffer.set(taken === chunk.length ? chunk : chunk.subarray(0, taken), count);
      count += taken;
      if (taken === chunk.length) unread.shift();
      else unread.replaceFront(chunk.subarray(taken));
    }
    this.#unreadBytes -= count;
    this.#caughtUp();
    return count;
  }

  /** Resumes the source once the reader has taken everything that waited. */
  #caughtUp(): void {
    if (this.#unreadBytes === 0 && this.#paused && this.#end === null) {
      this.#paused = false;
      this.#source.resume();
    }
  }
}
