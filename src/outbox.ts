/**
 * The outgoing queue of one connection and its writer: everything the protocol sends waits here
 * for the transport, with a lane for control frames (pings, pongs) that goes ahead of queued
 * data, a limit past which the peer is behind, and the end of the stream once all is written.
 *
 * @module
 */

import { concatBytes } from "./protocol/bytes.ts";
import { isAdjacent } from "./protocol/frame_arena.ts";
import type { ProtocolOutput } from "./protocol/protocol_output.ts";
import { closeQuietly, type Transport, writeAll } from "./transport.ts";
import type { Traffic } from "./traffic.ts";

/** Parts of this size are written on their own rather than copied into a joint write. */
const WRITE_AS_IS_MIN_BYTES = 16 * 1024;

/**
 * The connection an {@linkcode Outbox} writes for: its clock, and who hears that the transport is
 * closed. (An object, the connection itself, rather than closures: an idle connection holds as
 * few objects as it can.)
 *
 * @example
 * ```ts
 * import type { OutboxOwner } from "./outbox.ts";
 * const owner: OutboxOwner = { now: () => Date.now(), outboxClosed: () => console.log("closed") };
 * ```
 */
export interface OutboxOwner {
  /** The time, in milliseconds, that {@linkcode Outbox.overLimitSince} is stamped with. */
  now(): number;
  /**
   * The outbox has closed the transport: a write failed (after which everything is dropped), or
   * the stream was to end with `"close"`.
   */
  outboxClosed(): void;
}

/** Options of {@linkcode Outbox}: those of a server, which its connections share. */
export interface OutboxOptions {
  /** Bytes queued above which the peer is behind: see {@linkcode Outbox.overLimitSince}. */
  readonly maxBufferedBytes: number;
  /** Where the bytes written are counted, if anywhere. */
  readonly traffic?: Traffic;
}

/** No writes taken: shared, never changed. */
const NO_WRITES: readonly Uint8Array[] = [];
const NO_BYTES = new Uint8Array(0);

/**
 * Queues frames and writes them in order, one write at a time. Everything queued in the same
 * turn of the event loop goes out in one write. It is the {@linkcode ProtocolOutput} of the
 * connection's protocol.
 *
 * @example
 * ```ts ignore
 * import { Outbox } from "./outbox.ts";
 * const transport = await Deno.connect({ port: 8000 });
 * const owner = { now: () => 0, outboxClosed() {} };
 * const outbox = new Outbox(transport, owner, { maxBufferedBytes: 1 << 20 });
 * outbox.write(new Uint8Array([0x81, 0x02, 0x48, 0x69]), false);
 * outbox.end("fin");
 * await outbox.flushed();
 * ```
 */
export class Outbox implements ProtocolOutput {
  readonly #transport: Transport;
  readonly #owner: OutboxOwner;
  readonly #options: OutboxOptions;
  #control: Uint8Array[] = [];
  #queued: Uint8Array[] = [];
  /** The buffer reserved frames are laid in, and how much of it they use; queued once sealed. */
  #open: Uint8Array | null = null;
  #openUsed = 0;
  /** `#open`, or the buffer of the last frame reserved on its own. */
  #reserved: Uint8Array = NO_BYTES;
  /** Writes taken from the queues: the one at `#writing - 1` is under way, the rest wait. */
  #writes: readonly Uint8Array[] = NO_WRITES;
  #writing = 0;
  #bufferedAmount = 0;
  #overLimitSince: number | null = null;
  #flushing: Promise<void> | null = null;
  #belowLimit: PromiseWithResolvers<void> | null = null;
  #closed = false;
  /** How the stream ends once everything queued is written, when the protocol has said. */
  #end: "fin" | "close" | null = null;
  // Waiters for what is queued and not yet taken for writing, and for the writes taken: true once
  // written, false once dropped or failed. Made only when someone waits.
  #queuedWritten: PromiseWithResolvers<boolean> | null = null;
  #takenWritten: PromiseWithResolvers<boolean> | null = null;

  /** Creates the queue of `transport`, for `owner`. */
  constructor(transport: Transport, owner: OutboxOwner, options: OutboxOptions) {
    this.#transport = transport;
    this.#owner = owner;
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

  /**
   * Whether the outbox has closed the transport, so nothing more will be written: a write
   * failed, or the stream ended with `"close"`.
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues bytes; `control` ones go out before all others not yet being written. Once the stream
   * is to end, or a write has failed, nothing more is queued.
   */
  write(bytes: Uint8Array, control: boolean): void {
    if (this.#closed || this.#end !== null) return;
    if (!control) this.#seal();
    (control ? this.#control : this.#queued).push(bytes);
    this.#added(bytes.length);
  }

  /** The buffer the frames last reserved are in: see {@linkcode reserve}. */
  get bytes(): Uint8Array {
    return this.#reserved;
  }

  /**
   * Queues `length` bytes after what is queued and returns where in {@linkcode bytes} they are,
   * to be filled at once: small frames are laid one after the other in one buffer, which goes
   * out as one write. Once the stream is to end, or a write has failed, they are dropped.
   */
  reserve(length: number): number {
    if (this.#closed || this.#end !== null || length >= WRITE_AS_IS_MIN_BYTES) {
      const bytes = new Uint8Array(length);
      this.write(bytes, false);
      this.#reserved = bytes;
      return 0;
    }
    // Reserved frames are laid one after the other in a buffer that takes the turn's first frame
    // exactly, so one frame a turn is written as the buffer it was made in (on Bun, with one 16 B
    // message in flight per connection, 1.1-1.3x the echoes of a 256-byte first buffer), and
    // grows fourfold, up to WRITE_AS_IS_MIN_BYTES, while the turn's frames keep coming.
    let open = this.#open;
    if (open === null || open.length - this.#openUsed < length) {
      const size = open === null ? length : open.length * 4;
      this.#seal();
      open = this.#open = new Uint8Array(Math.min(WRITE_AS_IS_MIN_BYTES, Math.max(length, size)));
    }
    this.#reserved = open;
    const at = this.#openUsed;
    this.#openUsed += length;
    this.#added(length);
    return at;
  }

  /** Counts `count` bytes more as queued, and makes sure a flush will write them. */
  #added(count: number): void {
    const wasOverLimit = this.overLimit;
    this.#bufferedAmount += count;
    if (!wasOverLimit && this.overLimit) this.#overLimitSince = this.#owner.now();
    this.#flushing ??= this.#flush();
  }

  /** Queues what reserved frames there are, so what comes next goes after them. */
  #seal(): void {
    this.#reserved = NO_BYTES;
    if (this.#open === null) return;
    if (this.#openUsed > 0) this.#queued.push(this.#open.subarray(0, this.#openUsed));
    this.#open = null;
    this.#openUsed = 0;
  }

  /**
   * Ends the stream once everything queued is written: `"fin"` ends the sending side (reading
   * goes on), `"close"` closes the transport. The first call decides.
   */
  end(how: "fin" | "close"): void {
    if (this.#closed || this.#end !== null) return;
    this.#end = how;
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
    if (this.#closed) return Promise.resolve(false);
    if (this.#control.length > 0 || this.#queued.length > 0 || this.#openUsed > 0) {
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
   * Drops everything not yet being written, control or not, so that what is queued next (a close
   * frame) goes out right after the write under way, which is finished, as a frame may not be
   * cut.
   */
  dropQueued(): void {
    let dropped = 0;
    for (let i = this.#writing; i < this.#writes.length; i++) dropped += this.#writes[i].length;
    for (const bytes of this.#control) dropped += bytes.length;
    for (const bytes of this.#queued) dropped += bytes.length;
    dropped += this.#openUsed;
    this.#open = null;
    this.#openUsed = 0;
    this.#writes = this.#writes.slice(0, this.#writing);
    this.#control = [];
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
   * Takes everything queued, control first, as the buffers to write in order: parts adjacent in
   * memory (frames of one arena, see `FrameArena`) as one view, then runs of small parts joined
   * into one, large parts as they are, since copying them would cost more than a write.
   */
  #takeWrites(): Uint8Array[] {
    this.#seal();
    const queued = this.#control.length === 0 ? this.#queued : this.#control.concat(this.#queued);
    this.#control = [];
    this.#queued = [];
    const parts = queued.length === 1 ? queued : viewsOfAdjacent(queued);
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
      if (this.#closed) return;
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
        // Most writes take everything at once: one wait, not writeAll's two.
        const count = await this.#transport.write(bytes);
        if (count < bytes.length) await writeAll(this.#transport, bytes.subarray(count));
        this.#written(bytes.length);
        if (this.#options.traffic) this.#options.traffic.bytesOut += bytes.length;
      }
      this.#settleWaiters(true);
      if (this.#end === "fin") await this.#transport.closeWrite();
      else if (this.#end === "close") this.#close();
    } catch {
      // A reset, or the transport closed under the write: nothing more can go out.
      this.#control = [];
      this.#queued = [];
      this.#open = null;
      this.#openUsed = 0;
      this.#written(this.#bufferedAmount);
      this.#settleWaiters(false);
      this.#close();
    } finally {
      // Written buffers are not kept by an idle connection.
      this.#writes = NO_WRITES;
      this.#writing = 0;
      this.#flushing = null;
    }
  }

  /** Closes the transport, once: nothing more is written. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#transport);
    this.#owner.outboxClosed();
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

/** `parts`, each run of them adjacent in memory made one view of it. */
function viewsOfAdjacent(parts: Uint8Array[]): Uint8Array[] {
  const views: Uint8Array[] = [];
  let run = parts[0];
  let joined = false;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (isAdjacent(run, part)) {
      run = new Uint8Array(run.buffer, run.byteOffset, run.byteLength + part.byteLength);
      joined = true;
    } else {
      views.push(run);
      run = part;
    }
  }
  views.push(run);
  return joined ? views : parts;
}
