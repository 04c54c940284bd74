/**
 * The one channel through which the protocol core sends everything: frames in order, control
 * frames that may overtake, dropping on failure, and the end of the stream.
 *
 * @module
 */

import type { FrameSink } from "./frame.ts";

/**
 * Where a `Protocol` puts everything it has to send, in order: the I/O layer's outgoing
 * queue. Frames of messages are encoded into the room it reserves (see `FrameSink`), where they
 * wait to be written.
 *
 * @example An output that records what it is given
 * ```ts
 * import type { ProtocolOutput } from "./protocol_output.ts";
 * const written: Uint8Array[] = [];
 * const output: ProtocolOutput = {
 *   write: (bytes) => void written.push(bytes),
 *   bytes: new Uint8Array(0),
 *   reserve(length) {
 *     written.push(this.bytes = new Uint8Array(length));
 *     return 0;
 *   },
 *   dropQueued: () => void written.splice(0),
 *   end: () => {},
 * };
 * ```
 */
export interface ProtocolOutput extends FrameSink {
  /**
   * Queues `bytes` after what is queued. `control` bytes (a ping, a pong) may go ahead of queued
   * data not yet being written, so that keepalive works while much is queued.
   */
  write(bytes: Uint8Array, control: boolean): void;
  /**
   * Queues `length` bytes after what is queued, and returns where in `bytes` they are, for the
   * caller to fill at once, before anything else is queued.
   */
  reserve(length: number): number;
  /** Drops what is queued and not yet being written: the connection failed. */
  dropQueued(): void;
  /**
   * Ends the stream once everything queued is written: `"fin"` sends FIN and reading goes on
   * until the peer ends its side too (so the peer reads the end rather than a reset); `"close"`
   * closes both ways.
   */
  end(how: "fin" | "close"): void;
}
