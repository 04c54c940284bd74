/**
 * The read loop of one connection: it reads its transport until the stream ends, into a buffer
 * sized to the traffic, and holds off reading while the connection says so (flow control).
 *
 * @module
 */

import type { ReadTarget, Transport } from "./transport.ts";

/** The read buffer of an idle connection: small, as every connection keeps one. */
export const MIN_READ_BYTES = 1024;

/** The read buffer grows fourfold after each read that fills it, up to this, while large messages flow. */
export const MAX_READ_BYTES = 256 * 1024;

/**
 * What a grown read buffer shrinks back to after a run of small reads: not all the way to the
 * minimum, or a peer sending messages just over it would cost two reads and two allocations each.
 */
const SHRUNK_READ_BYTES = 4 * 1024;

/** How many reads in a row must use a sixteenth of a grown buffer before it shrinks. */
const SMALL_READS_BEFORE_SHRINKING = 16;

/**
 * A read buffer that grows while reads come back full (a large message is arriving), and
 * shrinks after a run of small reads, not after one, or a stream of mid-sized messages would
 * reallocate all the time.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ReadBuffer } from "./read_loop.ts";
 * const buffer = new ReadBuffer();
 * assertEquals(buffer.bytes.length, 1024);
 * buffer.used(1024);
 * assertEquals(buffer.bytes.length, 4096);
 * ```
 */
export class ReadBuffer {
  #bytes: Uint8Array | null;
  #smallReads = 0;

  /**
   * Starts with `bytes`, or with a buffer of {@linkcode MIN_READ_BYTES} made on first use: a
   * connection whose transport delivers its chunks (`deliver`) never makes one.
   */
  constructor(bytes: Uint8Array | null = null) {
    this.#bytes = bytes;
  }

  /** Where the next read goes. */
  get bytes(): Uint8Array {
    return this.#bytes ??= new Uint8Array(MIN_READ_BYTES);
  }

  /** Records that a read filled `count` bytes, and sizes the buffer for the next. */
  used(count: number): void {
    const size = this.bytes.length;
    if (count === size && size < MAX_READ_BYTES) {
      this.#bytes = new Uint8Array(Math.min(MAX_READ_BYTES, size * 4));
      this.#smallReads = 0;
    } else if (count <= size >> 4 && size > SHRUNK_READ_BYTES) {
      if (++this.#smallReads === SMALL_READS_BEFORE_SHRINKING) {
        this.#bytes = new Uint8Array(SHRUNK_READ_BYTES);
        this.#smallReads = 0;
      }
    } else {
      this.#smallReads = 0;
    }
  }
}

/**
 * Reads `transport` until the stream ends, handing every read to `target`: where the runtime
 * pushes, the chunks themselves as they come ({@linkcode Transport.deliver}), else reads into
 * `buffer`. A failed read (a reset, or the transport closed under it) ends the stream as the end
 * of input does: either way nothing more comes.
 *
 * @example
 * ```ts ignore
 * import { ReadBuffer, readUntilEnd } from "./read_loop.ts";
 * const conn = await Deno.connect({ port: 8000 });
 * await readUntilEnd(conn, new ReadBuffer(), {
 *   holdReading: () => null,
 *   resumed() {},
 *   received: (bytes) => console.log(bytes.length),
 * });
 * ```
 */
export function readUntilEnd(
  transport: Transport,
  buffer: ReadBuffer,
  target: ReadTarget,
): Promise<void> {
  return transport.deliver?.(target) ?? readEach(transport, buffer, target);
}

/** Reads `transport` into `buffer` until the stream ends, for {@linkcode readUntilEnd}. */
async function readEach(transport: Transport, buffer: ReadBuffer, target: ReadTarget) {
  for (;;) {
    const hold = target.holdReading();
    if (hold !== null) {
      await hold;
      target.resumed();
      continue;
    }
    let count: number | null;
    try {
      count = await transport.read(buffer.bytes);
    } catch {
      return;
    }
    if (count === null) return;
    target.received(buffer.bytes.subarray(0, count), false);
    buffer.used(count);
  }
}
