/**
 * The incremental frame decoder (RFC 6455 §5.2).
 *
 * The decoder is fed chunks as they come and keeps between them only what it needs: header bytes
 * so far, or the payload buffer of the frame in progress and how much of it is filled. It never
 * assumes a frame or a header arrives whole, and decodes every frame of a chunk in one call.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { ProtocolError, protocolError } from "./errors.ts";
import { type Frame, isControlOpcode, Opcode } from "./frame.ts";
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_BYTES } from "./limits.ts";
import { applyMask } from "./mask.ts";

/**
 * The smallest buffer for a frame that spans chunks. A buffer is at most four times what has
 * arrived (or this), never the declared length alone, so a header reserves little; it grows as
 * the payload arrives, and is the exact length at once when a quarter of it is in.
 */
const INITIAL_PAYLOAD_BYTES = 64 * 1024;

/**
 * The size of the buffer for a payload of `length` bytes of which `arrived` are in: four times
 * what arrived, so that growing copies at most a third of the payload and a peer makes us
 * reserve at most four times what it sent; the exact length once that is enough.
 */
function payloadBufferSize(length: number, arrived: number): number {
  return Math.min(length, Math.max(INITIAL_PAYLOAD_BYTES, arrived * 4));
}

/** Options of {@linkcode FrameParser} and {@linkcode FrameParserStream}. */
export interface FrameParserOptions {
  /**
   * Which end decodes: a server requires masked frames, a client unmasked ones (RFC 6455 §5.1).
   */
  role: "server" | "client";
  /**
   * The largest message, in payload bytes summed over its fragments. Checked from the frame
   * header, before any payload is buffered; over it the frame fails with 1009.
   * @default {64 MiB}
   */
  maxMessageBytes?: number;
  /**
   * The largest payload of one data frame, in bytes, checked from its header; over it the frame
   * fails with 1009. A frame that spans reads is buffered whole, so this bounds one allocation.
   * Control frames have their own limit of 125 bytes (RFC 6455 §5.5).
   * @default the message limit
   */
  maxFrameBytes?: number;
  /**
   * The most frames one data message may come in, checked from each frame's header; one more
   * fails with 1008. `Infinity` for no limit.
   * @default {65536}
   */
  maxFragments?: number;
  /**
   * Reserved bits a negotiated extension claims (RSV1 = 4), allowed on the first frame of a data
   * message; any other set bit, or one on a continuation or control frame, is 1002. @default 0
   */
  allowedRsv?: number;
  /**
   * Where the payload of a frame that spans chunks is made, at the length asked. A server's
   * protocol makes them with room for a header in front, to send a received message back in
   * place. @default a new `Uint8Array`
   */
  allocate?: (length: number) => Uint8Array;
}

/** A frame whose payload has only partly arrived: what is there so far, already unmasked. */
export interface PartialFrame {
  /** The frame's opcode. */
  opcode: Opcode;
  /** The frame's reserved bits (RSV1 = 4). */
  rsv: number;
  /** The payload bytes received so far. */
  payloadSoFar: Uint8Array;
}

const KNOWN_OPCODES = new Set<number>(Object.values(Opcode));

/** The header's size in bytes, known from its first two bytes. */
function headerSize(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (secondByte & 0x80 ? 4 : 0);
}

/**
 * Decodes frames from chunks of bytes, whatever the chunk boundaries.
 *
 * A frame that lies wholly inside one chunk gets a payload that is a view into that chunk,
 * unmasked in place, and is marked `borrowed`: the parser owns a chunk once it is pushed, and the
 * frame's payload is valid until the caller reuses the chunk's memory. A frame that spans chunks
 * gets a payload buffer of its own.
 *
 * @example Two frames in one chunk, then one split over two
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FrameParser } from "./parser.ts";
 * const parser = new FrameParser({ role: "client" });
 * const texts: string[] = [];
 * const onFrame = (frame: { payload: Uint8Array }) => texts.push(new TextDecoder().decode(frame.payload));
 * parser.push(new Uint8Array([0x81, 0x02, 0x48, 0x69, 0x81, 0x01, 0x21]), onFrame);
 * parser.push(new Uint8Array([0x81, 0x02, 0x4f]), onFrame);
 * parser.push(new Uint8Array([0x6b]), onFrame);
 * assertEquals(texts, ["Hi", "!", "Ok"]);
 * ```
 */
export class FrameParser {
  readonly #requireMask: boolean;
  readonly #maxMessageBytes: number;
  readonly #maxFrameBytes: number;
  readonly #maxFragments: number;
  readonly #allowedRsv: number;
  readonly #allocate: (length: number) => Uint8Array;

  /** Header bytes of a header that straddles chunks; made the first time one does. */
  #header: Uint8Array | null = null;
  #headerFilled = 0;

  #fin = false;
  #rsv = 0;
  #opcode: Opcode = Opcode.Continuation;
  #masked = false;
  /** The key of the masked frame in progress; made at the first, as an idle connection has none. */
  #mask: Uint8Array | null = null;
  /**
   * The payload so far of a frame that straddles chunks, or null between frames. It grows as
   * bytes arrive, so a declared length alone reserves no more than the first piece.
   */
  #payload: Uint8Array | null = null;
  #payloadFilled = 0;
  #payloadLength = 0;
  /** Payload bytes of the data message in progress, for the size limit. */
  #messageBytes = 0;
  /** Frames of the data message in progress, for the fragment limit. */
  #messageFragments = 0;

  /** Creates a parser for one connection. */
  constructor(options: FrameParserOptions) {
    this.#requireMask = options.role === "server";
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxFrameBytes = options.maxFrameBytes ?? Infinity;
    this.#maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.#allowedRsv = options.allowedRsv ?? 0;
    this.#allocate = options.allocate ?? ((length) => new Uint8Array(length));
  }

  /** Whether the bytes so far end inside a frame. */
  get midFrame(): boolean {
    return this.#headerFilled > 0 || this.#payload !== null;
  }

  /** The frame whose payload is arriving, or null between frames. */
  get partialFrame(): PartialFrame | null {
    if (this.#payload === null) return null;
    return {
      opcode: this.#opcode,
      rsv: this.#rsv,
      payloadSoFar: this.#payload.subarray(0, this.#payloadFilled),
    };
  }

  /**
   * Decodes every frame completed by `chunk`, calling `onFrame` for each in order. An `owned`
   * chunk is the caller's to keep (nothing will reuse its memory): the frames that lie wholly in
   * it, header included, then have payloads that are views into it and not `borrowed`.
   *
   * @throws {ProtocolError} at the first violation, after `onFrame` has had the frames before
   * it: 1002 for framing errors, 1009 for a message or frame over its size limit, 1008 for a
   * message in too many fragments.
   */
  push(chunk: Uint8Array, onFrame: (frame: Frame) => void, owned = false): void {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      if (this.#payload !== null) {
        offset = this.#continuePayload(chunk, offset, onFrame);
        continue;
      }
      let header: Uint8Array;
      let at: number;
      if (
        this.#headerFilled === 0 && end - offset >= 2 &&
        end - offset >= headerSize(chunk[offset + 1])
      ) {
        header = chunk;
        at = offset;
        this.#readFirstBytes(chunk[offset], chunk[offset + 1]);
        offset += headerSize(chunk[offset + 1]);
      } else {
        offset = this.#fillHeader(chunk, offset);
        header = this.#header!;
        if (this.#headerFilled < 2 || this.#headerFilled < headerSize(header[1])) return;
        at = 0;
        this.#headerFilled = 0;
      }
      const length = this.#readLengthAndMask(header, at);
      if (end - offset >= length) {
        const payload = chunk.subarray(offset, offset + length);
        if (this.#masked) applyMask(payload, this.#mask!);
        offset += length;
        // Kept only when the whole frame, header included, lies in the chunk given to keep: the
        // protocol may then write over that header to send the payload back.
        this.#emit(payload, !owned || header !== chunk, onFrame);
      } else {
        this.#payload = this.#allocate(payloadBufferSize(length, end - offset));
        this.#payloadFilled = 0;
        this.#payloadLength = length;
      }
    }
  }

  /** Copies header bytes into the header buffer; checks the first two as soon as they are in. */
  #fillHeader(chunk: Uint8Array, offset: number): number {
    const header = this.#header ??= new Uint8Array(14);
    while (offset < chunk.length) {
      const needed = this.#headerFilled < 2 ? 2 : headerSize(header[1]);
      if (this.#headerFilled >= needed) break;
      const take = Math.min(needed - this.#headerFilled, chunk.length - offset);
      header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
      this.#headerFilled += take;
      offset += take;
      if (this.#headerFilled === 2) this.#readFirstBytes(header[0], header[1]);
    }
    return offset;
  }

  /** Checks what the first two header bytes alone can show is wrong (RFC 6455 §5.2, §5.5). */
  #readFirstBytes(first: number, second: number): void {
    const fin = (first & 0x80) !== 0;
    const rsv = (first >> 4) & 0x7;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    if ((rsv & ~this.#allowedRsv) !== 0) throw protocolError("reserved bits set");
    if (!KNOWN_OPCODES.has(opcode)) throw protocolError(`reserved opcode ${opcode}`);
    // An extension's bits mark a whole message (RFC 7692 §6: "Per-Message Compressed"), so only
    // its first frame carries them.
    if (rsv !== 0 && (opcode === Opcode.Continuation || isControlOpcode(opcode))) {
      throw protocolError(`reserved bits set on a ${opcode ? "control" : "continuation"} frame`);
    }
    if (isControlOpcode(opcode)) {
      if (!fin) throw protocolError("fragmented control frame");
      if ((second & 0x7f) > 125) throw protocolError("control frame over 125 bytes");
    }
    if (masked !== this.#requireMask) {
      throw protocolError(this.#requireMask ? "unmasked client frame" : "masked server frame");
    }
    this.#fin = fin;
    this.#rsv = rsv;
    this.#opcode = opcode as Opcode;
    this.#masked = masked;
  }

  /** Reads the payload length and masking key, and enforces the limits on data. */
  #readLengthAndMask(header: Uint8Array, at: number): number {
    const length7 = header[at + 1] & 0x7f;
    let length = length7;
    let next = at + 2;
    if (length7 === 126) {
      length = (header[next] << 8) | header[next + 1];
      next += 2;
    } else if (length7 === 127) {
      const high = ((header[next] << 24) | (header[next + 1] << 16) | (header[next + 2] << 8) |
        header[next + 3]) >>> 0;
      const low = ((header[next + 4] << 24) | (header[next + 5] << 16) | (header[next + 6] << 8) |
        header[next + 7]) >>> 0;
      // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
      if (high >= 0x8000_0000) throw protocolError("64-bit length with the top bit set");
      length = high * 0x1_0000_0000 + low;
      next += 8;
    }
    if (this.#masked) {
      const mask = this.#mask ??= new Uint8Array(4);
      mask[0] = header[next];
      mask[1] = header[next + 1];
      mask[2] = header[next + 2];
      mask[3] = header[next + 3];
    }
    if (!isControlOpcode(this.#opcode)) this.#checkDataFrame(length);
    return length;
  }

  /**
   * Enforces the limits on data: the message's size summed over its fragments and the frame's
   * own size (RFC 6455 §7.4.1: 1009, too big to process), and the number of fragments (1008: a
   * message of many small fragments is not big, it breaks a policy).
   */
  #checkDataFrame(length: number): void {
    const continuation = this.#opcode === Opcode.Continuation;
    const messageBytes = continuation ? this.#messageBytes + length : length;
    const fragments = continuation ? this.#messageFragments + 1 : 1;
    if (messageBytes > this.#maxMessageBytes) {
      throw new ProtocolError(
        CloseCode.MessageTooBig,
        `message over ${this.#maxMessageBytes} bytes`,
      );
    }
    if (length > this.#maxFrameBytes) {
      throw new ProtocolError(CloseCode.MessageTooBig, `frame over ${this.#maxFrameBytes} bytes`);
    }
    if (fragments > this.#maxFragments) {
      throw new ProtocolError(
        CloseCode.PolicyViolation,
        `message in over ${this.#maxFragments} fragments`,
      );
    }
    this.#messageBytes = this.#fin ? 0 : messageBytes;
    this.#messageFragments = this.#fin ? 0 : fragments;
  }

  #continuePayload(chunk: Uint8Array, offset: number, onFrame: (frame: Frame) => void): number {
    const take = Math.min(chunk.length - offset, this.#payloadLength - this.#payloadFilled);
    let payload = this.#payload!;
    if (this.#payloadFilled + take > payload.length) {
      const grown = this.#allocate(
        payloadBufferSize(this.#payloadLength, this.#payloadFilled + take),
      );
      grown.set(payload.subarray(0, this.#payloadFilled));
      payload = this.#payload = grown;
    }
    const piece = payload.subarray(this.#payloadFilled, this.#payloadFilled + take);
    piece.set(chunk.subarray(offset, offset + take));
    if (this.#masked) applyMask(piece, this.#mask!, this.#payloadFilled);
    this.#payloadFilled += take;
    if (this.#payloadFilled === this.#payloadLength) {
      this.#payload = null;
      this.#emit(payload, false, onFrame);
    }
    return offset + take;
  }

  #emit(payload: Uint8Array, borrowed: boolean, onFrame: (frame: Frame) => void): void {
    onFrame({ fin: this.#fin, rsv: this.#rsv, opcode: this.#opcode, payload, borrowed });
  }
}
