/**
 * The WebSocket connection as a state machine, without I/O (RFC 6455 §5–§7).
 *
 * Bytes go in through {@linkcode Connection.receive}; messages come out of it. What the protocol
 * obliges this end to send (a pong for each ping) waits in {@linkcode Connection.dataToSend} for
 * the I/O layer to write ahead of queued application data. Sending, pinging and closing return
 * the bytes to write. The close state is data: the close frames sent and received, from which the
 * state, the close code and `wasClean` are derived. Time is the I/O layer's: it decides when to
 * ping, and when a pong is too late to wait for.
 *
 * @module
 */

import { CloseCode, type CloseFrame, encodeClosePayload, parseClosePayload } from "./close.ts";
import { ConnectionClosedError, type ConnectionFailure, ProtocolError } from "./errors.ts";
import {
  encodeFrame,
  encodeFrameHeader,
  encodeFrameInPlace,
  type EncodeFrameOptions,
  encodeTextFrame,
  type Frame,
  hasHeaderRoom,
  isControlOpcode,
  Opcode,
  RSV1,
} from "./frame.ts";
import type { DeflateCodec } from "./deflate.ts";
import { type Message, MessageAssembler } from "./message.ts";
import { UNCOPIED_PAYLOAD_MIN_BYTES } from "./limits.ts";
import { FrameParser, type FrameParserOptions } from "./parser.ts";

const encoder = new TextEncoder();

/**
 * Options of {@linkcode Connection}: which end it is (a client masks what it sends and expects
 * unmasked frames), the limits its frame parser applies to what the peer sends, and the codec of
 * permessage-deflate when it was agreed.
 *
 * @example
 * ```ts
 * import type { ConnectionOptions } from "./connection.ts";
 * const options: ConnectionOptions = { role: "server", maxMessageBytes: 1024 * 1024 };
 * ```
 */
export interface ConnectionOptions
  extends Pick<FrameParserOptions, "role" | "maxMessageBytes" | "maxFrameBytes" | "maxFragments"> {
  /**
   * The permessage-deflate codec, when the handshake negotiated the extension (RFC 7692): it
   * inflates messages that arrive compressed and compresses those sent. It is closed when the
   * transport ends.
   */
  deflate?: DeflateCodec;
}

/**
 * Where a connection is: `open` until a close frame is sent or received or the peer breaks the
 * protocol, then `closing` until the transport ends, then `closed`.
 */
export type ConnectionState = "open" | "closing" | "closed";

/**
 * How a connection ended, as a `CloseEvent` reports it.
 *
 * @example
 * ```ts
 * import type { CloseInfo } from "./connection.ts";
 * const info: CloseInfo = { code: 1000, reason: "done", wasClean: true };
 * ```
 */
export interface CloseInfo {
  /** The code in the peer's close frame; 1005 if it had none; 1006 if none came. */
  code: number;
  /** The reason in the peer's close frame, or "". */
  reason: string;
  /** Whether close frames went both ways. */
  wasClean: boolean;
  /**
   * Why this end failed the connection, when it did: the peer's protocol violation, a keepalive
   * ping left unanswered, or a peer that did not read what was sent to it.
   */
  error?: ConnectionFailure;
}

/**
 * One WebSocket connection's protocol state, after the handshake.
 *
 * @example A ping is answered, a message comes out
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Connection } from "./connection.ts";
 * const connection = new Connection({ role: "server" });
 * // A ping, then the text "Hi", masked with the all-zero key.
 * const messages = connection.receive(
 *   new Uint8Array([0x89, 0x80, 0, 0, 0, 0, 0x81, 0x82, 0, 0, 0, 0, 0x48, 0x69]),
 * );
 * assertEquals(messages, ["Hi"]);
 * assertEquals(connection.dataToSend(), [new Uint8Array([0x8a, 0x00])]);
 * ```
 */
export class Connection {
  readonly #parser: FrameParser;
  readonly #assembler: MessageAssembler;
  readonly #masked: boolean;
  readonly #deflate: DeflateCodec | undefined;
  #obligations: Uint8Array[] = [];
  #closeSent: CloseFrame | null = null;
  #closeReceived: CloseFrame | null = null;
  #failure: ConnectionFailure | null = null;
  #transportEnded = false;
  /** Keepalive pings made so far: the payload of the next is this count plus one. */
  #pingsSent = 0;
  #awaitingPong = false;
  #dataReceived = 0;

  /** Creates the state of a connection whose handshake is done. */
  constructor(options: ConnectionOptions) {
    const { deflate } = options;
    this.#parser = new FrameParser({ ...options, allowedRsv: deflate ? RSV1 : 0 });
    this.#assembler = new MessageAssembler(options);
    this.#masked = options.role === "client";
    this.#deflate = deflate;
  }

  /** Where the connection is; see {@linkcode ConnectionState}. */
  get state(): ConnectionState {
    if (this.#transportEnded) return "closed";
    if (this.#closeSent || this.#closeReceived || this.#failure) return "closing";
    return "open";
  }

  /** The close frame this end sent, or null. */
  get closeSent(): CloseFrame | null {
    return this.#closeSent;
  }

  /** The close frame the peer sent, or null. */
  get closeReceived(): CloseFrame | null {
    return this.#closeReceived;
  }

  /**
   * Why the connection failed, or null: the peer's protocol violation, or what the I/O layer gave
   * {@linkcode fail}. Once set, nothing more is read; the close frame carries `failure.closeCode`.
   */
  get failure(): ConnectionFailure | null {
    return this.#failure;
  }

  /** Whether the last ping made by {@linkcode ping} still waits for its pong. */
  get awaitingPong(): boolean {
    return this.#awaitingPong;
  }

  /**
   * A count that grows whenever bytes of a data frame arrive: a message, a fragment, or part of
   * one. Pings, pongs and close frames leave it as it is, so comparing it before and after
   * {@linkcode receive} tells message traffic from keepalive traffic.
   */
  get dataReceived(): number {
    return this.#dataReceived;
  }

  /** How the connection ended (or would, if the transport ended now). */
  get closeInfo(): CloseInfo {
    const received = this.#closeReceived;
    const info: CloseInfo = {
      code: received?.code ?? CloseCode.AbnormalClosure,
      reason: received?.reason ?? "",
      wasClean: received !== null && this.#closeSent !== null,
    };
    if (this.#failure) info.error = this.#failure;
    return info;
  }

  /**
   * Feeds bytes from the peer and returns the messages they complete, in order. A protocol
   * violation sets {@linkcode failure}; the messages before it are still returned. Bytes after
   * the peer's close frame or a violation are ignored (RFC 6455 §5.5.1).
   */
  receive(chunk: Uint8Array): Message[] {
    const messages: Message[] = [];
    if (this.#closeReceived || this.#failure || this.#transportEnded) return messages;
    try {
      this.#parser.push(chunk, (frame) => this.#onFrame(frame, messages));
      const partial = this.#closeReceived ? null : this.#parser.partialFrame;
      if (partial) {
        if (!isControlOpcode(partial.opcode)) this.#dataReceived++;
        this.#assembler.checkPartial(partial);
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (!this.#closeReceived) this.#failure = error;
    }
    return messages;
  }

  /** Records that the transport has ended: the state becomes `closed`. */
  receiveEof(): void {
    this.#transportEnded = true;
    this.#deflate?.close();
  }

  /** Takes the frames the protocol obliges this end to send (pongs), oldest first. */
  dataToSend(): Uint8Array[] {
    const obligations = this.#obligations;
    if (obligations.length > 0) this.#obligations = [];
    return obligations;
  }

  /**
   * Encodes a message as one frame, a string as text and bytes as binary, and returns the chunks
   * to write in order. A server does not copy a binary payload that was received (the frame shares
   * its buffer) or that is large (the header, then the payload itself): such a payload must not
   * change until written. Otherwise the one chunk is a new frame. With permessage-deflate, a
   * message of at least the codec's threshold is compressed, and its frame has RSV1 set.
   *
   * @throws {ConnectionClosedError} once a close frame has been sent.
   */
  send(message: Message): Uint8Array[] {
    if (this.#closeSent || this.#transportEnded) throw new ConnectionClosedError();
    const compressed = this.#deflate && this.#encodeCompressed(this.#deflate, message);
    if (compressed) return [compressed];
    if (typeof message === "string") return [encodeTextFrame(message, this.#frameOptions())];
    if (!this.#masked) {
      // A received message goes back in its own buffer, its header written in the room before it.
      if (hasHeaderRoom(message)) return [encodeFrameInPlace(Opcode.Binary, message)];
      if (message.length >= UNCOPIED_PAYLOAD_MIN_BYTES) {
        return [encodeFrameHeader(Opcode.Binary, message.length), message];
      }
    }
    return [this.#encode(Opcode.Binary, message)];
  }

  /**
   * Encodes a ping (RFC 6455 §5.5.2) to learn whether the peer is still there. Its payload is a
   * 4-byte sequence number, and {@linkcode awaitingPong} is true until a pong that echoes it
   * arrives (§5.5.3): a pong for an earlier ping, or one nobody asked for, does not count.
   *
   * @throws {ConnectionClosedError} once a close frame has been sent.
   */
  ping(): Uint8Array {
    if (this.#closeSent || this.#transportEnded) throw new ConnectionClosedError();
    this.#pingsSent = (this.#pingsSent + 1) >>> 0;
    this.#awaitingPong = true;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, this.#pingsSent);
    return this.#encode(Opcode.Ping, payload);
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7) for a reason the I/O layer found: no pong in time, or
   * a peer that does not read. Records `error` as the {@linkcode failure}, so nothing more is
   * read, and returns this end's close frame with the error's code and message; null when a
   * close frame was already sent.
   */
  fail(error: ConnectionFailure): Uint8Array | null {
    if (this.#transportEnded) return null;
    this.#failure ??= error;
    return this.#closeSent ? null : this.close(error.closeCode, error.message);
  }

  /**
   * Encodes this end's close frame. Without a code it echoes the peer's close code and reason
   * when one was received (RFC 6455 §5.5.1), and sends 1000 otherwise.
   *
   * @throws {ConnectionClosedError} when a close frame was already sent.
   * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason = ""): Uint8Array {
    if (this.#closeSent || this.#transportEnded) throw new ConnectionClosedError();
    const echo = code === undefined ? this.#closeReceived : null;
    const closeCode = echo?.code ?? code ?? CloseCode.Normal;
    const closeReason = echo?.reason ?? reason;
    // Echoing a close that had no code means sending one without a code too.
    const payload = echo?.code === CloseCode.NoStatusReceived
      ? new Uint8Array(0)
      : encodeClosePayload(closeCode, closeReason);
    this.#closeSent = { code: closeCode, reason: closeReason };
    return this.#encode(Opcode.Close, payload);
  }

  #onFrame(frame: Frame, messages: Message[]): void {
    if (this.#closeReceived) return;
    switch (frame.opcode) {
      case Opcode.Ping:
        // RFC 6455 §5.5.2: a pong is owed unless the peer's close was received, even after ours.
        this.#obligations.push(this.#encode(Opcode.Pong, frame.payload));
        return;
      case Opcode.Pong:
        if (this.#awaitingPong && this.#isPongToLastPing(frame.payload)) this.#awaitingPong = false;
        return;
      case Opcode.Close:
        this.#closeReceived = parseClosePayload(frame.payload);
        return;
      default: {
        this.#dataReceived++;
        const message = this.#assembler.push(frame);
        if (message !== undefined) messages.push(message);
      }
    }
  }

  /**
   * The frame of `message` compressed, with RSV1 set; null when it is under the codec's
   * threshold, for the uncompressed encodings. Text that may reach the threshold (UTF-8 takes
   * at most 3 bytes per code unit) is encoded once: its bytes go out as they are when they turn
   * out too few.
   */
  #encodeCompressed(deflate: DeflateCodec, message: Message): Uint8Array | null {
    if (typeof message !== "string") {
      const compressed = deflate.deflate(message);
      return compressed && this.#encodeRsv1(Opcode.Binary, compressed);
    }
    if (message.length * 3 < deflate.threshold) return null;
    const payload = encoder.encode(message);
    const compressed = deflate.deflate(payload);
    return compressed
      ? this.#encodeRsv1(Opcode.Text, compressed)
      : this.#encode(Opcode.Text, payload);
  }

  /** A compressed payload's frame; a server's is written in front of the payload, in place. */
  #encodeRsv1(opcode: Opcode, compressed: Uint8Array): Uint8Array {
    if (this.#masked) {
      return encodeFrame(opcode, compressed, { ...this.#frameOptions(), rsv: RSV1 });
    }
    return encodeFrameInPlace(opcode, compressed, RSV1);
  }

  #isPongToLastPing(payload: Uint8Array): boolean {
    if (payload.length !== 4) return false;
    return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) === this.#pingsSent;
  }

  #encode(opcode: Opcode, payload: Uint8Array): Uint8Array {
    return encodeFrame(opcode, payload, this.#frameOptions());
  }

  /** A client masks every frame with a fresh random key (RFC 6455 §5.3); a server never does. */
  #frameOptions(): EncodeFrameOptions | undefined {
    return this.#masked ? { mask: crypto.getRandomValues(new Uint8Array(4)) } : undefined;
  }
}
