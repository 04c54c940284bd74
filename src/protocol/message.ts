/**
 * Message assembly (RFC 6455 §5.4, §5.6): data frames and their continuations become one text or
 * binary message; text is checked as UTF-8 as its bytes arrive.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import type { Extension } from "./extension.ts";
import { protocolError } from "./errors.ts";
import { type Frame, isControlOpcode, Opcode } from "./frame.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./limits.ts";
import type { PartialFrame } from "./parser.ts";
import { decodeUtf8, Utf8StreamDecoder } from "./utf8.ts";

/** A whole message: text as a string, binary as bytes. */
export type Message = string | Uint8Array;

const NONE = -1;

/**
 * Options of {@linkcode MessageAssembler}.
 *
 * @example
 * ```ts
 * import type { MessageAssemblerOptions } from "./message.ts";
 * const options: MessageAssemblerOptions = { maxMessageBytes: 1024 * 1024 };
 * ```
 */
export interface MessageAssemblerOptions {
  /**
   * The extension negotiated in the handshake, if any: a message whose first frame has one of its
   * bits set is decoded by it (RFC 7692 §6.2 for permessage-deflate).
   */
  extension?: Extension;
  /** The largest message once decoded, in bytes; over it: 1009. @default {64 MiB} */
  maxMessageBytes?: number;
  /**
   * Where binary messages are made when their bytes must be copied or joined (see
   * `FrameParserOptions.allocate`). @default a new `Uint8Array`
   */
  allocate?: (length: number) => Uint8Array;
}

/**
 * Joins data frames into messages. Control frames never reach it: they may come between
 * fragments and are the connection's business.
 *
 * @example A text message in two fragments
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Opcode } from "./frame.ts";
 * import { MessageAssembler } from "./message.ts";
 * const assembler = new MessageAssembler();
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * assertEquals(assembler.push({ fin: false, rsv: 0, opcode: Opcode.Text, payload: bytes("Hel") }), undefined);
 * assertEquals(assembler.push({ fin: true, rsv: 0, opcode: Opcode.Continuation, payload: bytes("lo") }), "Hello");
 * ```
 */
export class MessageAssembler {
  readonly #extension: Extension | undefined;
  readonly #maxMessageBytes: number;
  readonly #allocate: (length: number) => Uint8Array;
  /** The opcode of the message in progress (text or binary), or NONE. */
  #messageOpcode: number = NONE;
  /** Whether the message in progress is the extension's: its parts are then its encoded bytes. */
  #encoded = false;
  readonly #decoder = new Utf8StreamDecoder();
  #textParts: string[] = [];
  #binaryParts: Uint8Array[] = [];
  /** How many bytes of the frame in progress were already decoded by {@linkcode checkPartial}. */
  #decodedOfFrame = 0;

  /** Creates the assembler of one connection. */
  constructor(options: MessageAssemblerOptions = {}) {
    this.#extension = options.extension;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#allocate = options.allocate ?? ((length) => new Uint8Array(length));
  }

  /**
   * Takes the next data frame and returns the message it completes, if any. A binary payload
   * the frame only borrows (a view into a read chunk) is copied, so that memory may be reused
   * afterwards; one the frame owns is kept as it is.
   *
   * A message encoded by the extension is decoded once its last frame is in, and its text checked
   * as UTF-8 then (RFC 7692 §8).
   *
   * @throws {ProtocolError} 1002 for a new message inside an unfinished one or a continuation
   * with none begun; 1007 for invalid UTF-8 in text, or what the extension cannot decode; 1009
   * for a message the extension decodes past the size limit.
   */
  push(frame: Frame): Message | undefined {
    const { opcode, fin, payload } = frame;
    this.#checkSequence(opcode);
    if (opcode !== Opcode.Continuation) {
      // The parser lets through only the bits the extension claims.
      if (frame.rsv !== 0) {
        if (fin) return this.#decode(opcode, [this.#own(frame)]);
        this.#encoded = true;
      } else if (fin && this.#decodedOfFrame === 0) {
        return opcode === Opcode.Text ? decodeUtf8(payload) : this.#own(frame);
      }
      this.#messageOpcode = opcode;
    }
    if (this.#encoded) {
      this.#binaryParts.push(this.#own(frame));
      return fin ? this.#finishEncoded() : undefined;
    }
    const unseen = payload.subarray(this.#decodedOfFrame);
    this.#decodedOfFrame = 0;
    if (this.#messageOpcode === Opcode.Text) {
      this.#textParts.push(this.#decoder.push(unseen));
    } else {
      this.#binaryParts.push(this.#own(frame));
    }
    return fin ? this.#finish() : undefined;
  }

  /**
   * Checks a data frame whose payload is still arriving: its place in the message sequence, and
   * the UTF-8 of text so far, so that a violation fails at once rather than when the frame is
   * complete (RFC 6455 §8.1: fail fast).
   *
   * @throws {ProtocolError} 1002 for a frame out of sequence, 1007 for invalid UTF-8 so far.
   */
  checkPartial(frame: PartialFrame): void {
    if (isControlOpcode(frame.opcode)) return;
    this.#checkSequence(frame.opcode);
    // An extension's bytes are checked once decoded.
    if (this.#encoded || frame.rsv !== 0) return;
    const isText = frame.opcode === Opcode.Text ||
      (frame.opcode === Opcode.Continuation && this.#messageOpcode === Opcode.Text);
    if (!isText || frame.payloadSoFar.length === this.#decodedOfFrame) return;
    this.#textParts.push(this.#decoder.push(frame.payloadSoFar.subarray(this.#decodedOfFrame)));
    this.#decodedOfFrame = frame.payloadSoFar.length;
  }

  /** RFC 6455 §5.4: a continuation needs a message begun; a new message needs none. */
  #checkSequence(opcode: number): void {
    if (opcode === Opcode.Continuation) {
      if (this.#messageOpcode === NONE) {
        throw protocolError("continuation frame with no message begun");
      }
    } else if (this.#messageOpcode !== NONE) {
      throw protocolError("new message inside a fragmented one");
    }
  }

  #finishEncoded(): Message {
    const opcode = this.#messageOpcode;
    const parts = this.#binaryParts;
    this.#messageOpcode = NONE;
    this.#encoded = false;
    this.#binaryParts = [];
    return this.#decode(opcode, parts);
  }

  #decode(opcode: number, payloads: Uint8Array[]): Message {
    const bytes = this.#extension!.decode(payloads, this.#maxMessageBytes);
    return opcode === Opcode.Text ? decodeUtf8(bytes) : bytes;
  }

  /**
   * The frame's payload as bytes of their own: the payload itself when the frame owns it (the
   * parser made a buffer for a frame that spanned chunks, or it is a view into a chunk nobody
   * reuses, at least a quarter of it), else a copy: a borrowed view into a read chunk is only
   * valid until the chunk is reused, and a small view would keep its whole chunk alive.
   */
  #own(frame: Frame): Uint8Array {
    const { payload } = frame;
    // Kept as it is unless borrowed, or a view that would keep a chunk far larger alive.
    if (!frame.borrowed && payload.byteLength * 4 >= payload.buffer.byteLength) return payload;
    const copy = this.#allocate(payload.length);
    copy.set(payload);
    return copy;
  }

  #finish(): Message {
    const opcode = this.#messageOpcode;
    this.#messageOpcode = NONE;
    if (opcode === Opcode.Text) {
      const text = this.#textParts.join("") + this.#decoder.end();
      this.#textParts = [];
      return text;
    }
    const bytes = concatBytes(this.#binaryParts, this.#allocate);
    this.#binaryParts = [];
    return bytes;
  }
}
