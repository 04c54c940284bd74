/**
 * A message framed once for many connections: what a publish sends to every subscriber of a
 * topic, without encoding it again for each.
 *
 * @module
 */

import type { Extension } from "./extension.ts";
import { Opcode } from "./frame.ts";
import { FrameArena } from "./frame_arena.ts";

const encoder = new TextEncoder();

/**
 * Where prepared frames are made: those of messages published one after the other lie side by
 * side, so a subscriber's queue writes them as one.
 */
const arena = new FrameArena();

/**
 * One message, as the server frames it for any connection: the plain frame is made once, and
 * the encoded frame once per kind of extension that encodes alike (its `shareKey`, such as
 * permessage-deflate without context takeover). A connection whose extension keeps state
 * between messages gets a frame encoded for it alone. Frames are server frames: unmasked.
 *
 * @example Two connections, one frame
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PreparedMessage } from "./prepared_message.ts";
 * const message = PreparedMessage.of("hi");
 * assertEquals(message.frame(), new Uint8Array([0x81, 0x02, 0x68, 0x69]));
 * assertEquals(message.frame() === message.frame(), true);
 * ```
 */
export class PreparedMessage {
  /** Text or binary. */
  readonly opcode: typeof Opcode.Text | typeof Opcode.Binary;
  /** The payload: for text, its UTF-8 bytes. */
  readonly payload: Uint8Array;
  #plain: Uint8Array | null = null;
  /** The frame encoded by each kind of extension, or null where it declined to encode. */
  readonly #encoded = new Map<string, Uint8Array | null>();

  /** Prepares a message from its opcode and payload (for text, valid UTF-8). */
  constructor(opcode: typeof Opcode.Text | typeof Opcode.Binary, payload: Uint8Array) {
    this.opcode = opcode;
    this.payload = payload;
  }

  /** Prepares a string as text, bytes as binary. */
  static of(message: string | Uint8Array): PreparedMessage {
    return typeof message === "string"
      ? new PreparedMessage(Opcode.Text, encoder.encode(message))
      : new PreparedMessage(Opcode.Binary, message);
  }

  /**
   * The frame to send to a connection with `extension` (none if not given): its encoding when
   * the extension encodes a message of this size, else the plain frame.
   */
  frame(extension?: Extension): Uint8Array {
    if (extension === undefined || this.payload.length < extension.minBytes) {
      return this.#plainFrame();
    }
    const key = extension.shareKey;
    if (key === undefined) return this.#encode(extension) ?? this.#plainFrame();
    let encoded = this.#encoded.get(key);
    if (encoded === undefined) this.#encoded.set(key, encoded = this.#encode(extension));
    return encoded ?? this.#plainFrame();
  }

  #plainFrame(): Uint8Array {
    return this.#plain ??= arena.encode(this.opcode, this.payload);
  }

  #encode(extension: Extension): Uint8Array | null {
    const encoded = extension.encode(this.payload);
    return encoded && arena.encode(this.opcode, encoded, { rsv: extension.rsv });
  }
}
