/**
 * The outgoing queue of one connection: frames wait here for the transport, with a lane for what
 * the protocol obliges (pongs) that goes ahead of queued application data.
 *
 * @module
 */

import { concatBytes } from "./protocol/bytes.ts";
import { WRITE_AS_IS_MIN_BYTES } from "./protocol/limits.ts";
import { type Transport, writeAll } from "./transport.ts";

/**
 * Queues frames and writes them in order, one write at a time. Everything queued in the same
 * turn of the event loop goes out in one write.
 *
 * @example
 * ```ts ignore
 * import { Outbox } from "./outbox.ts";
 * const outbox = new Outbox(await Deno.connect({ port: 8000 }), () => {});
 * outbox.enqueue(new Uint8Array([0x81, 0x02, 0x48, 0x69]));
 * await outbox.flushed();
 * ```
 */
export class Outbox {
  readonly #transport: Transport;
  readonly #onWriteError: (error: unknown) => void;
  #urgent: Uint8Array[] = [];
  #queued: Uint8Array[] = [];
  #bufferedAmount = 0;
  #flushing: Promise<void> | null = null;
  #broken = false;

  /** Creates the queue; `onWriteError` hears of the first failed write, after which all is dropped. */
  constructor(transport: Transport, onWriteError: (error: unknown) => void) {
    this.#transport = transport;
    this.#onWriteError = onWriteError;
  }

  /** Bytes queued and not yet written, framing included. */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  /** Whether a write has failed, so nothing more will be written. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Queues bytes; `urgent` ones go out before all non-urgent ones not yet written. */
  enqueue(bytes: Uint8Array, urgent = false): void {
    if (this.#broken) return;
    (urgent ? this.#urgent : this.#queued).push(bytes);
    this.#bufferedAmount += bytes.length;
    this.#flushing ??= this.#flush();
  }

  /** Resolves once everything queued so far is written, or the transport failed. */
  flushed(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
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
        for (const bytes of this.#takeWrites()) {
          await writeAll(this.#transport, bytes);
          this.#bufferedAmount -= bytes.length;
        }
      }
    } catch (error) {
      this.#broken = true;
      this.#urgent = [];
      this.#queued = [];
      this.#bufferedAmount = 0;
      this.#onWriteError(error);
    } finally {
      this.#flushing = null;
    }
  }
}
