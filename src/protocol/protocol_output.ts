/**
 * The one channel through which the protocol core sends everything: frames in order, control
 * frames that may overtake, dropping on failure, and the end of the stream.
 *
 * @module
 */

/**
 * Where a `Protocol` puts everything it has to send, in order: the I/O layer's outgoing
 * queue.
 *
 * @example An output that records what it is given
 * ```ts
 * import type { ProtocolOutput } from "./protocol_output.ts";
 * const written: Uint8Array[] = [];
 * const output: ProtocolOutput = {
 *   write: (bytes) => void written.push(bytes),
 *   dropQueued: () => void written.splice(0),
 *   end: () => {},
 * };
 * ```
 */
export interface ProtocolOutput {
  /**
   * Queues `bytes` after what is queued. `control` bytes (a ping, a pong) may go ahead of queued
   * data not yet being written, so that keepalive works while much is queued.
   */
  write(bytes: Uint8Array, control: boolean): void;
  /** Drops what is queued and not yet being written: the connection failed. */
  dropQueued(): void;
  /**
   * Ends the stream once everything queued is written: `"fin"` sends FIN and reading goes on
   * until the peer ends its side too (so the peer reads the end rather than a reset); `"close"`
   * closes both ways.
   */
  end(how: "fin" | "close"): void;
}
