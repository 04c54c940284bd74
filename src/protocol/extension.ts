/**
 * The seam where a negotiated extension (RFC 6455 §9) meets the protocol: one object per
 * connection that claims reserved bits and transforms whole messages on their way in and out.
 * permessage-deflate (RFC 7692) is the one extension there is; the parser, the message assembler
 * and the encoder know only this interface.
 *
 * @module
 */

/**
 * A per-message extension agreed in the handshake. A message whose first frame has any of its
 * `rsv` bits set is the extension's: its frames' payloads go to {@linkcode decode} once the last
 * one is in, and what that returns is the message. A message to send goes through
 * {@linkcode encode}, and when that returns bytes, they are sent with the `rsv` bits set.
 *
 * @example An extension that changes nothing, with RSV2 as its bit
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * import type { Extension } from "./extension.ts";
 * const identity: Extension = {
 *   rsv: 0b010,
 *   minBytes: 0,
 *   shareKey: "identity",
 *   decode: (payloads) => concatBytes(payloads),
 *   encode: (payload) => payload,
 *   close() {},
 * };
 * ```
 */
export interface Extension {
  /** The reserved bits it sets on the first frame of a message it encoded (RSV1 = 4). */
  readonly rsv: number;
  /** Messages shorter than this many bytes are sent as they are, without calling `encode`. */
  readonly minBytes: number;
  /**
   * Set when `encode` keeps nothing from one message to the next, so that every extension with
   * the same key encodes a payload to the same bytes: a message published to many connections is
   * then encoded once for all of them. Undefined when the encoding depends on what came before.
   */
  readonly shareKey?: string;
  /**
   * Decodes a received message from its frames' payloads, in order; the payloads are the
   * extension's to keep.
   *
   * @throws {ProtocolError} when the message cannot be decoded (1007), or is over `maxBytes`
   * once decoded (1009).
   */
  decode(payloads: readonly Uint8Array[], maxBytes: number): Uint8Array;
  /**
   * Encodes a message's payload to send, into new bytes; null to send it as it is. The payload is
   * not kept.
   */
  encode(payload: Uint8Array): Uint8Array | null;
  /** Frees what it holds; called once when the connection's transport has ended. */
  close(): void;
}
