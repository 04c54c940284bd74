/**
 * Message assembly (RFC 6455 §5.4, §5.6): data frames and their continuations become one text or
 * binary message; text is checked as UTF-8 as its bytes arrive.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import type { DeflateCodec } from "./deflate.ts";
import { protocolError } from "./errors.ts";
import {
  allocatePayload,
  type Frame,
  hasHeaderRoom,
  isControlOpcode,
  Opcode,
  RSV1,
} from "./frame.ts";
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
   * The permessage-deflate codec, when the extension was negotiated: a message whose first
   * frame has RSV1 set is inflated with it (RFC 7692 §6.2).
   */
  deflate?: DeflateCodec;
  /** The largest message once inflated, in bytes; over it: 1009. @default {64 MiB} */
  maxMessageBytes?: number;
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
  readonly #deflate: DeflateCodec | undefined;
  readonly #maxMessageBytes: number;
  /** The opcode of the message in progress (text or binary), or NONE. */
  #messageOpcode: number = NONE;
  /** Whether the message in progress is compressed: its parts are then compressed bytes. */
  #compressed = false;
  readonly #decoder = new Utf8StreamDecoder();
  #textParts: string[] = [];
  #binaryParts: Uint8Array[] = [];
  /** How many bytes of the frame in progress were already decoded by {@linkcode checkPartial}. */
  #decodedOfFrame = 0;

  /** Creates the assembler of one connection. */
  constructor(options: MessageAssemblerOptions = {}) {
    this.#deflate = options.deflate;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * Takes the next data frame and returns the message it completes, if any. A binary payload
   * that is a view into a larger buffer (a read chunk) is copied, so that memory may be reused
   * afterwards; one with a buffer of its own is kept as it is.
   *
   * A compressed message is inflated once its last frame is in, and its text checked as UTF-8
   * then (RFC 7692 §8).
   *
   * @throws {ProtocolError} 1002 for a new message inside an unfinished one or a continuation
   * with none begun; 1007 for invalid UTF-8 in text or invalid compressed data; 1009 for a
   * message that inflates past the size limit.
   */
  push(frame: Frame): Message | undefined {
    const { opcode, fin, payload } = frame;
    this.#checkSequence(opcode);
    if (opcode !== Opcode.Continuation) {
      // The parser lets RSV1 through only when permessage-deflate was negotiated.
      if ((frame.rsv & RSV1) !== 0) {
        if (fin) return this.#inflate(opcode, [payload]);
        this.#compressed = true;
      } else if (fin && this.#decodedOfFrame === 0) {
        return opcode === Opcode.Text ? decodeUtf8(payload) : ownCopy(payload);
      }
      this.#messageOpcode = opcode;
    }
    if (this.#compressed) {
      this.#binaryParts.push(ownCopy(payload));
      return fin ? this.#finishCompressed() : undefined;
    }
    const unseen = payload.subarray(this.#decodedOfFrame);
    this.#decodedOfFrame = 0;
    if (this.#messageOpcode === Opcode.Text) {
      this.#textParts.push(this.#decoder.push(unseen));
    } else {
      this.#binaryParts.push(ownCopy(payload));
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
    // Compressed bytes are checked once inflated.
    if (this.#compressed || (frame.rsv & RSV1) !== 0) return;
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

  #finishCompressed(): Message {
    const opcode = this.#messageOpcode;
    const parts = this.#binaryParts;
    this.#messageOpcode = NONE;
    this.#compressed = false;
    this.#binaryParts = [];
    return this.#inflate(opcode, parts);
  }

  #inflate(opcode: number, payloads: Uint8Array[]): Message {
    const bytes = this.#deflate!.inflate(payloads, this.#maxMessageBytes);
    return opcode === Opcode.Text ? decodeUtf8(bytes) : bytes;
  }

  #finish(): Message {
    const opcode = this.#messageOpcode;
    this.#messageOpcode = NONE;
    if (opcode === Opcode.Text) {
      const text = this.#textParts.join("") + this.#decoder.end();
      this.#textParts = [];
      return text;
    }
    const bytes = concatBytes(this.#binaryParts, allocatePayload);
    this.#binaryParts = [];
    return bytes;
  }
}

/**
 * The payload itself when it has a buffer of its own (the parser allocates one for a frame that
 * spans chunks), else a copy: a view into a read chunk is only valid until the chunk is reused.
 * Either way it has header room, so a server can send it back without another copy.
 */
function ownCopy(payload: Uint8Array): Uint8Array {
  if (hasHeaderRoom(payload)) return payload;
  const copy = allocatePayload(payload.length);
  copy.set(payload);
  return copy;
}
