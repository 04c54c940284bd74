/**
 * Frames laid one after the other in shared buffers, so that frames made in a row lie side by
 * side in memory and a queue holding them in that order writes them as one view, uncopied.
 *
 * @module
 */

import { type EncodeFrameOptions, type FrameSink, type Opcode, writeFrame } from "./frame.ts";

/** The size of each shared buffer. */
const SLAB_BYTES = 64 * 1024;

/** Frames larger than this get a buffer of their own: a slab is for many frames. */
const OWN_BUFFER_MIN_BYTES = 16 * 1024;

/**
 * Encodes frames into slabs it shares between them: a published message's frame, say, which
 * goes to many connections. Frames encoded one after the other are adjacent in one slab until it
 * is full (see {@linkcode isAdjacent}); a slab lives as long as any frame in it.
 *
 * @example Two frames, side by side
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FrameArena, isAdjacent } from "./frame_arena.ts";
 * import { Opcode } from "./frame.ts";
 * const arena = new FrameArena();
 * const first = arena.encode(Opcode.Text, new Uint8Array([0x68, 0x69]));
 * const second = arena.encode(Opcode.Binary, new Uint8Array([1]));
 * assertEquals([first, second], [new Uint8Array([0x81, 2, 0x68, 0x69]), new Uint8Array([0x82, 1, 1])]);
 * assertEquals(isAdjacent(first, second), true);
 * ```
 */
export class FrameArena implements FrameSink {
  #slab = new Uint8Array(0);
  /** Where in the slab the frame being encoded starts, and how much of it is taken. */
  #start = 0;
  #used = 0;
  /** The buffer of the frame being encoded. */
  bytes: Uint8Array = this.#slab;

  /** Encodes one frame (see {@linkcode writeFrame}) and returns it, a view into a slab. */
  encode(opcode: Opcode, payload: Uint8Array, options?: EncodeFrameOptions): Uint8Array {
    writeFrame(this, opcode, payload, options);
    return this.bytes === this.#slab ? this.#slab.subarray(this.#start, this.#used) : this.bytes;
  }

  /** Room for one frame: see {@linkcode FrameSink.reserve}. */
  reserve(length: number): number {
    if (length > OWN_BUFFER_MIN_BYTES) {
      this.bytes = new Uint8Array(length);
      return 0;
    }
    if (this.#slab.length - this.#used < length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#used = 0;
    }
    this.bytes = this.#slab;
    this.#start = this.#used;
    this.#used += length;
    return this.#start;
  }
}

/**
 * Whether `second` starts in memory right where `first` ends, so the two are written as one.
 *
 * @example
 * ```ts
 * import { isAdjacent } from "./frame_arena.ts";
 * const bytes = new Uint8Array(4);
 * console.log(isAdjacent(bytes.subarray(0, 2), bytes.subarray(2))); // true
 * console.log(isAdjacent(bytes.subarray(0, 1), bytes.subarray(2))); // false
 * ```
 */
export function isAdjacent(first: Uint8Array, second: Uint8Array): boolean {
  return first.buffer === second.buffer &&
    first.byteOffset + first.byteLength === second.byteOffset;
}
