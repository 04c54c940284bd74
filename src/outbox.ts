/**
 * The outgoing queue of one connection: frames wait here for the transport, with a lane for what
 * the protocol obliges (pongs) that goes ahead of queued application data, and a limit past which
 * the peer is behind.
 *
 * @module
 */

import { concatBytes } from "./protocol/bytes.ts";
import { WRITE_AS_IS_MIN_BYTES } from "./protocol/limits.ts";
import { type Transport, writeAll } from "./transport.ts";
import type { Traffic } from "./traffic.ts";
import type { Clock } from "./watchdog.ts";

/** Options of {@linkcode Outbox}. */
export interface OutboxOptions {
  /** Bytes queued above which the peer is behind: see {@linkcode Outbox.overLimitSince}. */
  maxBufferedBytes: number;
  /** What {@linkcode Outbox.overLimitSince} is read from. */
  clock: Clock;
  /** Where the bytes written are counted, if anywhere. */
  traffic?: Traffic;
}

/** No writes taken: shared, never changed. */
const NO_WRITES: readonly Uint8Array[] = [];

/**
 * Queues frames and writes them in order, one write at a time. Everything queued in the same
 * turn of the event loop goes out in one write.
 *
 * @example
 * ```ts ignore
 * import { Outbox } from "./outbox.ts";
 * const transport = await Deno.connect({ port: 8000 });
 * const outbox = new Outbox(transport, () => {}, { maxBufferedBytes: 1 << 20, clock: { now: 0 } });
 * outbox.enqueue(new Uint8Array([0x81, 0x02, 0x48, 0x69]));
 * await outbox.flushed();
 * ```
 */
export class Outbox {
  readonly #transport: Transport;
  readonly #onWriteError: (error: unknown) => void;
  readonly #options: OutboxOptions;
  #urgent: Uint8Array[] = [];
  #queued: Uint8Array[] = [];
  /** Writes taken from the queues: the one at `#writing - 1` is under way, the rest wait. */
  #writes: readonly Uint8Array[] = NO_WRITES;
  #writing = 0;
  #bufferedAmount = 0;
  #overLimitSince: number | null = null;
  #flushing: Promise<void> | null = null;
  #belowLimit: PromiseWithResolvers<void> | null = null;
  #broken = false;
  // Waiters for what is queued and not yet taken for writing, and for the writes taken: true once
  // written, false once dropped or failed. Made only when someone waits.
  #queuedWritten: PromiseWithResolvers<boolean> | null = null;
  #takenWritten: PromiseWithResolvers<boolean> | null = null;

  /** Creates the queue; `onWriteError` hears of the first failed write, after which all is dropped. */
  constructor(
    transport: Transport,
    onWriteError: (error: unknown) => void,
    options: OutboxOptions,
  ) {
    this.#transport = transport;
    this.#onWriteError = onWriteError;
    this.#options = options;
  }

  /** Bytes queued and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  /** Whether more than `maxBufferedBytes` are queued. */
  get overLimit(): boolean {
    return this.#bufferedAmount > this.#options.maxBufferedBytes;
  }

  /**
   * Since when, by the clock, more than `maxBufferedBytes` have been queued without a break, or
   * null when no more than that are.
   */
  get overLimitSince(): number | null {
    return this.#overLimitSince;
  }

  /** Whether a write has failed, so nothing more will be written. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Queues bytes; `urgent` ones go out before all non-urgent ones not yet written. */
  enqueue(bytes: Uint8Array, urgent = false): void {
    if (this.#broken) return;
    (urgent ? this.#urgent : this.#queued).push(bytes);
    const wasOverLimit = this.overLimit;
    this.#bufferedAmount += bytes.length;
    if (!wasOverLimit && this.overLimit) this.#overLimitSince = this.#options.clock.now;
    this.#flushing ??= this.#flush();
  }

  /** Resolves once everything queued so far is written, or the transport failed. */
  flushed(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  /**
   * Resolves once what is queued so far is written (true), or dropped or lost to a failed write
   * (false). Unlike {@linkcode flushed}, what is queued later does not hold it up.
   */
  written(): Promise<boolean> {
    if (this.#broken) return Promise.resolve(false);
    if (this.#urgent.length > 0 || this.#queued.length > 0) {
      return (this.#queuedWritten ??= Promise.withResolvers()).promise;
    }
    if (this.#writing < this.#writes.length || this.#bufferedAmount > 0) {
      return (this.#takenWritten ??= Promise.withResolvers()).promise;
    }
    return Promise.resolve(true);
  }

  /**
   * Resolves once no more than `maxBufferedBytes` are queued, or nothing more will be written:
   * what a producer that can wait waits for.
   */
  belowLimit(): Promise<void> {
    if (!this.overLimit) return Promise.resolve();
    this.#belowLimit ??= Promise.withResolvers();
    return this.#belowLimit.promise;
  }

  /**
   * Drops everything not yet being written, urgent or not, so that what is queued next (a close
   * frame) goes out right after the write under way, which is finished, as a frame may not be
   * cut.
   */
  dropQueued(): void {
    let dropped = 0;
    for (let i = this.#writing; i < this.#writes.length; i++) dropped += this.#writes[i].length;
    for (const bytes of this.#urgent) dropped += bytes.length;
    for (const bytes of this.#queued) dropped += bytes.length;
    this.#writes = this.#writes.slice(0, this.#writing);
    this.#urgent = [];
    this.#queued = [];
    this.#written(dropped);
    // The write under way may finish, but its waiters cannot be told apart from the dropped ones.
    this.#settleWaiters(false);
  }

  /** Tells every waiter of {@linkcode written} whether its bytes went out. */
  #settleWaiters(written: boolean): void {
    this.#queuedWritten?.resolve(written);
    this.#takenWritten?.resolve(written);
    this.#queuedWritten = this.#takenWritten = null;
  }

  /**
   * Takes everything queued, urgent first, as the buffers to write in order: runs of small parts
   * joined into one, large parts as they are, since copying them would cost more than a write.
   */
  #takeWrites(): Uint8Array[] {
    const parts = this.#urgent.length === 0 ? this.#queued : this.#urgent.concat(this.#queued);
    this.#urgent = [];
    this.#queued = [];
    if (parts.length === 1) return parts;
    const writes: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i <= parts.length; i++) {
      if (i < parts.length && parts[i].length < WRITE_AS_IS_MIN_BYTES) continue;
      if (start < i) writes.push(concatBytes(parts.slice(start, i)));
      if (i < parts.length) writes.push(parts[i]);
      start = i + 1;
    }
    return writes;
  }

  async #flush(): Promise<void> {
    // Let everything queued in this turn join one write.
    await null;
    try {
      while (this.#bufferedAmount > 0) {
        if (this.#writing === this.#writes.length) {
          // The writes taken before are all out; what was queued since is taken now.
          this.#takenWritten?.resolve(true);
          this.#takenWritten = this.#queuedWritten;
          this.#queuedWritten = null;
          this.#writes = this.#takeWrites();
          this.#writing = 0;
        }
        const bytes = this.#writes[this.#writing++];
        await writeAll(this.#transport, bytes);
        this.#written(bytes.length);
        if (this.#options.traffic) this.#options.traffic.bytesOut += bytes.length;
      }
      this.#settleWaiters(true);
    } catch (error) {
      this.#broken = true;
      this.#urgent = [];
      this.#queued = [];
      this.#written(this.#bufferedAmount);
      this.#settleWaiters(false);
      this.#onWriteError(error);
    } finally {
      // Written buffers are not kept by an idle connection.
      this.#writes = NO_WRITES;
      this.#writing = 0;
      this.#flushing = null;
    }
  }

  /** Counts `count` bytes as gone from the queue, written or dropped. */
  #written(count: number): void {
    this.#bufferedAmount -= count;
    if (this.overLimit) return;
    this.#overLimitSince = null;
    this.#belowLimit?.resolve();
    this.#belowLimit = null;
  }
}
