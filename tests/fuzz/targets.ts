/**
 * What the fuzzer checks for each input, in process: the protocol core takes any bytes, cut
 * anywhere, without throwing anything but its own typed errors, and comes to the same result
 * however the bytes are cut, with permessage-deflate or without. What it sends back, echoes of
 * the messages among it, a client reads back as it was.
 */

import { assertEquals } from "@std/assert";
import { isValidCloseCode } from "../../src/protocol/close.ts";
import { deflateCodec } from "../../src/compression.ts";
import type { DeflateCodec } from "../../src/protocol/deflate.ts";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { isControlOpcode, Opcode, RSV1 } from "../../src/protocol/frame.ts";
import { isUpgradeRequest, validateUpgradeRequest } from "../../src/protocol/handshake.ts";
import { RequestHeadParser } from "../../src/protocol/http1.ts";
import { requestUrl } from "../../src/protocol/request.ts";
import { type Message, MessageAssembler } from "../../src/protocol/message.ts";
import { FrameParser } from "../../src/protocol/parser.ts";
import { type DeflateParameters, deflateSettings } from "../../src/protocol/permessage_deflate.ts";
import { Protocol } from "../../src/protocol/protocol.ts";
import {
  cut,
  frameStream,
  type FrameStreamOptions,
  type MeantMessage,
  type Random,
  requestHead,
} from "./inputs.ts";

/** The largest message in the fuzzed connections: small, so that 1009 is reached too. */
export const FUZZ_MAX_MESSAGE_BYTES = 4096;

const encoder = new TextEncoder();

/** permessage-deflate's settings on both ends of the fuzzed connections: every message compressed. */
const FUZZ_DEFLATE_SETTINGS = deflateSettings({ threshold: 0 });

/** Close codes a server may send for a peer's violation. */
const VIOLATION_CODES = [1002, 1007, 1009];
/** HTTP statuses a request head may be refused with. */
const HANDSHAKE_STATUSES = [400, 405, 426, 431];

/** What a server makes of a client's bytes. */
export interface ConnectionOutcome {
  /** The messages, in order. */
  messages: Message[];
  /** The close code the server sends: the violation's, or the echo of the peer's close. */
  closeCode: number | null;
  /** How many pongs it owes. */
  pongs: number;
}

/**
 * Feeds `pieces` to a server connection, echoes each message it makes of them, checks every
 * frame it would send, and returns what it made of them.
 */
export function runConnection(
  pieces: Uint8Array[],
  options: FrameStreamOptions = {},
): ConnectionOutcome {
  const extension = options.deflate &&
    deflateCodec("server", options.deflate, FUZZ_DEFLATE_SETTINGS);
  // What the server sends, taken after each call.
  let sent: Uint8Array[] = [];
  const taken = () => sent.splice(0);
  const protocol = new Protocol(
    { role: "server", maxMessageBytes: FUZZ_MAX_MESSAGE_BYTES, extension },
    {
      write: (bytes) => void sent.push(bytes),
      bytes: new Uint8Array(0),
      reserve(length) {
        sent.push(this.bytes = new Uint8Array(length));
        return 0;
      },
      dropQueued: () => sent = [],
      end() {},
    },
  );
  using client = new ClientReader(options.deflate);
  const messages: Message[] = [];
  try {
    for (const piece of pieces) {
      // The parser unmasks in place: each run gets its own copy of the bytes.
      const received = protocol.receiveData(piece.slice());
      client.read(taken());
      for (const message of received) {
        checkSize(message);
        protocol.send(message);
        const echo = client.read(taken());
        if (echo.length !== 1 || summary(echo[0]) !== summary(message)) {
          throw new Error(`${summary(message)} came back as ${echo.map(summary)}`);
        }
      }
      messages.push(...received);
    }
    let closeCode: number | null = null;
    if (protocol.failure) {
      closeCode = protocol.failure.closeCode;
      if (!VIOLATION_CODES.includes(closeCode)) {
        throw new Error(`violation closes with ${closeCode}`);
      }
    } else if (protocol.closeReceived) {
      closeCode = protocol.closeReceived.code;
      if (closeCode !== 1005 && !isValidCloseCode(closeCode)) {
        throw new Error(`accepted a close frame with code ${closeCode}`);
      }
    }
    if (protocol.closeOwed) {
      // The violation's reason goes on the wire: it must fit a close frame.
      protocol.close();
      client.read(taken());
    }
    return { messages, closeCode, pongs: client.pongs };
  } finally {
    protocol.receiveEof();
  }
}

/** Checks a message's type, and its size against the limit. */
function checkSize(message: Message): void {
  if (typeof message !== "string" && !(message instanceof Uint8Array)) {
    throw new Error(`a message of type ${typeof message}`);
  }
  const size = typeof message === "string" ? encoder.encode(message).length : message.length;
  if (size > FUZZ_MAX_MESSAGE_BYTES) throw new Error(`a message of ${size} bytes got through`);
}

/** A message's type, size and FNV-1a hash of its bytes. */
function summary(message: Message | MeantMessage): string {
  const { text, bytes } = typeof message === "string"
    ? { text: true, bytes: encoder.encode(message) }
    : message instanceof Uint8Array
    ? { text: false, bytes: message }
    : message;
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return `${text ? "text" : "binary"} ${bytes.length} ${hash >>> 0}`;
}

/**
 * The client's end of a fuzzed connection: parses what the server sends as a client would, with
 * a codec of its own to inflate compressed messages (its window kept when the server keeps its
 * compressor's), and counts the pongs.
 */
class ClientReader implements Disposable {
  readonly #parser: FrameParser;
  readonly #inflater: DeflateCodec | undefined;
  readonly #assembler: MessageAssembler;
  pongs = 0;

  constructor(deflate: DeflateParameters | undefined) {
    this.#parser = new FrameParser({ role: "client", allowedRsv: deflate ? RSV1 : 0 });
    this.#inflater = deflate && deflateCodec("client", deflate, FUZZ_DEFLATE_SETTINGS);
    this.#assembler = new MessageAssembler({ extension: this.#inflater });
  }

  /** Reads `chunks`, which must end at the end of a frame; returns the messages they make. */
  read(chunks: Uint8Array[]): Message[] {
    const messages: Message[] = [];
    for (const chunk of chunks) {
      this.#parser.push(chunk.slice(), (frame) => {
        if (frame.opcode === Opcode.Pong) this.pongs++;
        if (isControlOpcode(frame.opcode)) return;
        const message = this.#assembler.push(frame);
        if (message !== undefined) messages.push(message);
      });
    }
    if (this.#parser.midFrame) throw new Error("the server sent a partial frame");
    return messages;
  }

  [Symbol.dispose](): void {
    this.#inflater?.close();
  }
}

/**
 * One frame-stream input: the core must make the messages the bytes mean, accept the bytes whole
 * and cut, and reach the same messages, pongs and close code both ways; with deflate, inflation
 * must not depend on where the bytes were cut.
 */
export function fuzzFrames(random: Random, options: FrameStreamOptions = {}): void {
  const { bytes, meant } = frameStream(random, options);
  const whole = runConnection([bytes], options);
  const made = whole.messages.slice(0, meant.length).map(summary);
  assertEquals(made, meant.slice(0, made.length).map(summary), "not the messages meant");
  const pieces = runConnection(cut(random, bytes), options);
  assertEquals(
    { ...pieces, messages: pieces.messages.map(summary) },
    { ...whole, messages: whole.messages.map(summary) },
    "cutting the bytes changed the outcome",
  );
}

type HeadOutcome =
  | { status: number }
  | { status: 101; url: string; key: string; rest: number[] }
  | { status: "plain"; rest: number[] }
  | null;

function runHead(pieces: Uint8Array[]): HeadOutcome {
  const parser = new RequestHeadParser({ maxHeaderBytes: 512 });
  try {
    for (const [index, piece] of pieces.entries()) {
      const request = parser.push(piece);
      if (request === null) continue;
      const { head } = request;
      const rest = [...request.rest, ...pieces.slice(index + 1).flatMap((later) => [...later])];
      if (!isUpgradeRequest(head)) return { status: "plain", rest };
      const key = validateUpgradeRequest(head);
      return { status: 101, url: requestUrl(head, "ws").href, key, rest };
    }
    return null;
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    if (!HANDSHAKE_STATUSES.includes(error.status)) throw new Error(`status ${error.status}`);
    return { status: error.status };
  }
}

/**
 * One request-head input: only `HandshakeError`s with a status a server sends, and the same
 * answer whole and cut.
 */
export function fuzzRequestHead(random: Random): void {
  const bytes = requestHead(random);
  const whole = runHead([bytes]);
  const pieces = runHead(cut(random, bytes));
  assertEquals(pieces, whole, "cutting the bytes changed the outcome");
}
