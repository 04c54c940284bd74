/**
 * The WebSocket protocol of one connection as a state machine, without I/O (RFC 6455 §5–§7).
 *
 * Bytes from the peer go in through {@linkcode Protocol.receiveData}, and the messages they
 * complete come out of it. Everything this end has to send goes out through one channel, the
 * {@linkcode ProtocolOutput} given at construction: the frames of messages, the pongs the protocol
 * owes, pings, close frames, and the end of the stream, once the close handshake says TCP should
 * end. The core decides how a failure becomes a close frame and when TCP ends; the I/O layer
 * writes what it is given, and owns the time: when to ping, when a pong or a close is too late.
 *
 * @module
 */

import {
  type CloseFrame,
  type CloseInfo,
  type ConnectionState,
  encodeClosePayload,
  parseClosePayload,
} from "./close.ts";
import { CloseCode } from "./close_code.ts";
import { ConnectionClosedError, type ConnectionFailure, ProtocolError } from "./errors.ts";
import type { Extension } from "./extension.ts";
import {
  encodeFrame,
  encodeFrameAround,
  type EncodeFrameOptions,
  encodeFrameParts,
  type Frame,
  isControlOpcode,
  MAX_UNMASKED_HEADER_BYTES,
  Opcode,
  writeFrame,
  writeTextFrame,
} from "./frame.ts";
import { type Message, MessageAssembler } from "./message.ts";
import { FrameParser, type FrameParserOptions } from "./parser.ts";
import type { PreparedMessage } from "./prepared_message.ts";
import type { ProtocolOutput } from "./protocol_output.ts";

export type { ProtocolOutput };

/**
 * From this size, a server's binary payload is written after its header rather than copied
 * behind it: below it, copying costs less than a second write (measured with 64 KiB and 1 MiB
 * echoes).
 */
export const UNCOPIED_PAYLOAD_MIN_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/**
 * Options of {@linkcode Protocol}: which end it is (a client masks what it sends and expects
 * unmasked frames), the limits its frame parser applies to what the peer sends, and the extension
 * the handshake agreed on.
 *
 * @example
 * ```ts
 * import type { ProtocolOptions } from "./protocol.ts";
 * const options: ProtocolOptions = { role: "server", maxMessageBytes: 1024 * 1024 };
 * ```
 */
export interface ProtocolOptions
  extends Pick<FrameParserOptions, "role" | "maxMessageBytes" | "maxFrameBytes" | "maxFragments"> {
  /** The extension negotiated in the handshake (permessage-deflate); closed when the stream ends. */
  extension?: Extension;
}

/**
 * One WebSocket connection's protocol state, after the handshake.
 *
 * @example A ping is answered, a message comes out
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Protocol } from "./protocol.ts";
 * const written: Uint8Array[] = [];
 * const protocol = new Protocol({ role: "server" }, {
 *   write: (bytes) => void written.push(bytes),
 *   bytes: new Uint8Array(0),
 *   reserve(length) {
 *     written.push(this.bytes = new Uint8Array(length));
 *     return 0;
 *   },
 *   dropQueued() {},
 *   end() {},
 * });
 * // A ping, then the text "Hi", masked with the all-zero key.
 * const messages = protocol.receiveData(
 *   new Uint8Array([0x89, 0x80, 0, 0, 0, 0, 0x81, 0x82, 0, 0, 0, 0, 0x48, 0x69]),
 * );
 * assertEquals(messages, ["Hi"]);
 * assertEquals(written, [new Uint8Array([0x8a, 0x00])]);
 * ```
 */
export class Protocol {
  readonly #parser: FrameParser;
  readonly #assembler: MessageAssembler;
  readonly #output: ProtocolOutput;
  readonly #masked: boolean;
  readonly #extension: Extension | undefined;
  /**
   * The binary messages a server's protocol received with bytes free in front of them for a
   * header: those it made (a copy out of a read, a frame that spanned reads, fragments joined),
   * with room left for it, and views into a chunk it was given to keep, in front of which lies the
   * received frame's own header, longer than the one to send (it had a mask). Sent back, such a
   * message is framed in place, uncopied. Nothing else is in here. Made with its first member:
   * an idle connection has none.
   */
  #roomy: WeakSet<Uint8Array> | undefined;
  #closeSent: CloseFrame | null = null;
  #closeReceived: CloseFrame | null = null;
  #failure: ConnectionFailure | null = null;
  #eofReceived = false;
  /** Keepalive pings made so far: the payload of the next is this count plus one. */
  #pingsSent = 0;
  #awaitingPong = false;
  #dataReceived = 0;

  /** Creates the state of a connection whose handshake is done, writing to `output`. */
  constructor(options: ProtocolOptions, output: ProtocolOutput) {
    const { extension } = options;
    this.#masked = options.role === "client";
    // A client masks what it sends, so it copies anyway: its messages need no room.
    const allocate = this.#masked ? undefined : (length: number) => this.#allocate(length);
    this.#parser = new FrameParser({ ...options, allowedRsv: extension?.rsv ?? 0, allocate });
    this.#assembler = new MessageAssembler({ ...options, allocate });
    this.#output = output;
    this.#extension = extension;
  }

  /** Where the connection is; see {@linkcode ConnectionState}. */
  get state(): ConnectionState {
    if (this.#eofReceived) return "closed";
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

  /**
   * Whether what the peer sends still counts: false once its close frame or a violation came, or
   * the stream ended. Bytes after that are read only to be dropped (RFC 6455 §5.5.1).
   */
  get receiving(): boolean {
    return !this.#closeReceived && !this.#failure && !this.#eofReceived;
  }

  /**
   * Whether this end owes the peer a close frame: the peer's close, or its violation, came and
   * none was sent. The I/O layer answers with {@linkcode close} once the messages that came
   * before have been answered.
   */
  get closeOwed(): boolean {
    return !this.#closeSent && !this.#eofReceived && (!!this.#closeReceived || !!this.#failure);
  }

  /** Whether the last ping made by {@linkcode ping} still waits for its pong. */
  get awaitingPong(): boolean {
    return this.#awaitingPong;
  }

  /**
   * A count that grows whenever bytes of a data frame arrive: a message, a fragment, or part of
   * one. Pings, pongs and close frames leave it as it is, so comparing it before and after
   * {@linkcode receiveData} tells message traffic from keepalive traffic.
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
   * Feeds bytes from the peer and returns the messages they complete, in order; the pongs owed
   * for its pings go to the output. `owned` bytes are the protocol's to keep (a chunk nothing will
   * reuse): messages may then be views into them. A protocol violation sets {@linkcode failure}; the messages
   * before it are still returned. Bytes after the peer's close frame or a violation are ignored
   * (RFC 6455 §5.5.1).
   */
  receiveData(bytes: Uint8Array, owned = false): Message[] {
    const messages: Message[] = [];
    if (!this.receiving) return messages;
    try {
      this.#parser.push(bytes, (frame) => this.#onFrame(frame, messages), owned);
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

  /** Records that the stream has ended: the state becomes `closed`, the extension is closed. */
  receiveEof(): void {
    if (this.#eofReceived) return;
    this.#eofReceived = true;
    this.#extension?.close();
  }

  /**
   * Sends a message as one frame, a string as text and bytes as binary, and says whether its
   * bytes went to the output uncopied, so that they must not change until written: a server
   * frames a binary message it received in place, in the room left in front of it, and sends
   * any other binary payload of {@linkcode UNCOPIED_PAYLOAD_MIN_BYTES} or more as its header,
   * then itself. Every other frame is made new. With the extension, a message of at least its
   * `minBytes` is encoded by it and sent with its reserved bits set.
   *
   * @throws {ConnectionClosedError} once a close frame has been sent, or the stream has ended.
   */
  send(message: Message): boolean {
    if (this.#closeSent || this.#eofReceived) throw new ConnectionClosedError();
    if (this.#extension && this.#sendEncoded(this.#extension, message)) return false;
    if (typeof message === "string") {
      writeTextFrame(this.#output, message, this.#frameOptions());
      return false;
    }
    if (this.#roomy?.has(message)) {
      this.#write(encodeFrameAround(Opcode.Binary, message));
      return true;
    }
    if (!this.#masked && message.length >= UNCOPIED_PAYLOAD_MIN_BYTES) {
      for (const part of encodeFrameParts(Opcode.Binary, message)) this.#write(part);
      return true;
    }
    writeFrame(this.#output, Opcode.Binary, message, this.#frameOptions());
    return false;
  }

  /**
   * Sends a message prepared once for many connections (a publish to a topic): its frame for
   * this connection's extension (none when not to `compress`), shared with the others.
   *
   * @throws {ConnectionClosedError} once a close frame has been sent, or the stream has ended.
   * @throws {TypeError} on a client, which masks each frame on its own.
   */
  sendPrepared(message: PreparedMessage, compress = true): void {
    if (this.#closeSent || this.#eofReceived) throw new ConnectionClosedError();
    if (this.#masked) throw new TypeError("a client masks each frame: it cannot share one");
    this.#write(message.frame(compress ? this.#extension : undefined));
  }

  /**
   * Sends a ping (RFC 6455 §5.5.2) to learn whether the peer is still there. Its payload is a
   * 4-byte sequence number, and {@linkcode awaitingPong} is true until a pong that echoes it
   * arrives (§5.5.3): a pong for an earlier ping, or one nobody asked for, does not count.
   *
   * @throws {ConnectionClosedError} once a close frame has been sent.
   */
  ping(): void {
    if (this.#closeSent || this.#eofReceived) throw new ConnectionClosedError();
    this.#pingsSent = (this.#pingsSent + 1) >>> 0;
    this.#awaitingPong = true;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, this.#pingsSent);
    this.#output.write(this.#encode(Opcode.Ping, payload), true);
  }

  /**
   * Sends this end's close frame (RFC 6455 §5.5.1, §7.1.2). The code and reason are, first, those
   * of the {@linkcode failure} when there is one (the peer's violation is answered with its code,
   * whatever the application asked); then `code` and `reason` when given; then, when the peer's
   * close came first, its code and reason echoed; else 1000. Once both close frames have gone (or
   * this one answers a violation), a server ends TCP after it (§7.1.1); a client waits for the
   * server to.
   *
   * @throws {ConnectionClosedError} when a close frame was already sent, or the stream ended.
   * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason = ""): void {
    if (this.#closeSent || this.#eofReceived) throw new ConnectionClosedError();
    const failure = this.#failure;
    const echo = failure === null && code === undefined ? this.#closeReceived : null;
    const closeCode = failure?.closeCode ?? echo?.code ?? code ?? CloseCode.Normal;
    const closeReason = failure?.message ?? echo?.reason ?? reason;
    // Echoing a close that had no code means sending one without a code too.
    const payload = echo?.code === CloseCode.NoStatusReceived
      ? new Uint8Array(0)
      : encodeClosePayload(closeCode, closeReason);
    this.#closeSent = { code: closeCode, reason: closeReason };
    writeFrame(this.#output, Opcode.Close, payload, this.#frameOptions());
    if (this.#closeReceived || failure) this.#endAfterClose();
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7) for a reason the I/O layer found: no pong in time, or
   * a peer that does not read. What is queued and not yet being written is dropped, this end's
   * close frame (when none was sent) goes next with the error's code and message, and the stream
   * is closed once it is written, without waiting for the peer, which is gone or not reading.
   */
  fail(error: ConnectionFailure): void {
    if (this.#eofReceived) return;
    this.#failure ??= error;
    this.#output.dropQueued();
    if (!this.#closeSent) {
      this.#closeSent = { code: error.closeCode, reason: error.message };
      const payload = encodeClosePayload(error.closeCode, error.message);
      this.#output.write(this.#encode(Opcode.Close, payload), true);
    }
    this.#output.end("close");
  }

  #onFrame(frame: Frame, messages: Message[]): void {
    if (this.#closeReceived) return;
    switch (frame.opcode) {
      case Opcode.Ping:
        // RFC 6455 §5.5.2: a pong is owed unless the peer's close was received, even after ours.
        this.#output.write(this.#encode(Opcode.Pong, frame.payload), true);
        return;
      case Opcode.Pong:
        if (this.#awaitingPong && this.#isPongToLastPing(frame.payload)) this.#awaitingPong = false;
        return;
      case Opcode.Close:
        this.#closeReceived = parseClosePayload(frame.payload);
        if (this.#closeSent) this.#endAfterClose();
        return;
      default: {
        this.#dataReceived++;
        const message = this.#assembler.push(frame);
        if (message === undefined) return;
        // A view into a chunk this end keeps: the frame's own header lies free in front of it.
        if (message === frame.payload && !frame.borrowed && !this.#masked) this.#addRoomy(message);
        messages.push(message);
      }
    }
  }

  /** RFC 6455 §7.1.1: the server ends TCP first once the close is done; the client waits. */
  #endAfterClose(): void {
    if (!this.#masked) this.#output.end("fin");
  }

  /**
   * Sends `message` encoded by the extension, with its reserved bits set, and says whether it
   * did; false when it is under the extension's `minBytes`. Text that may reach that size (UTF-8
   * takes at most 3 bytes per code unit) is turned into bytes once: they go out as they are when
   * the extension declines them.
   */
  #sendEncoded(extension: Extension, message: Message): boolean {
    const isText = typeof message === "string";
    if (isText && message.length * 3 < extension.minBytes) return false;
    const payload = isText ? encoder.encode(message) : message;
    const encoded = payload.length >= extension.minBytes ? extension.encode(payload) : null;
    const opcode = isText ? Opcode.Text : Opcode.Binary;
    if (encoded) {
      writeFrame(this.#output, opcode, encoded, { ...this.#frameOptions(), rsv: extension.rsv });
    } else if (isText) {
      writeFrame(this.#output, opcode, payload, this.#frameOptions());
    } else {
      return false;
    }
    return true;
  }

  /** A binary message's bytes, with room in front for a header: see {@linkcode #roomy}. */
  #allocate(length: number): Uint8Array {
    const buffer = new ArrayBuffer(MAX_UNMASKED_HEADER_BYTES + length);
    const bytes = new Uint8Array(buffer, MAX_UNMASKED_HEADER_BYTES, length);
    this.#addRoomy(bytes);
    return bytes;
  }

  #addRoomy(message: Uint8Array): void {
    (this.#roomy ??= new WeakSet()).add(message);
  }

  #isPongToLastPing(payload: Uint8Array): boolean {
    if (payload.length !== 4) return false;
    return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0) === this.#pingsSent;
  }

  #write(bytes: Uint8Array): void {
    this.#output.write(bytes, false);
  }

  #encode(opcode: Opcode, payload: Uint8Array): Uint8Array {
    return encodeFrame(opcode, payload, this.#frameOptions());
  }

  /** A client masks every frame with a fresh random key (RFC 6455 §5.3); a server never does. */
  #frameOptions(): EncodeFrameOptions | undefined {
    return this.#masked ? { mask: crypto.getRandomValues(new Uint8Array(4)) } : undefined;
  }
}
