/**
 * What the fuzzer checks for each input, in process: the protocol core takes any bytes, cut
 * anywhere, without throwing anything but its own typed errors, and comes to the same result
 * however the bytes are cut.
 */

import { assertEquals } from "@std/assert";
import { isValidCloseCode } from "../../src/protocol/close.ts";
import { Connection } from "../../src/protocol/connection.ts";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { isUpgradeRequest, validateUpgradeRequest } from "../../src/protocol/handshake.ts";
import { RequestHeadParser, requestUrl } from "../../src/protocol/http1.ts";
import type { Message } from "../../src/protocol/message.ts";
import { FrameParser } from "../../src/protocol/parser.ts";
import { cut, frameStream, type Random, requestHead } from "./inputs.ts";

/** The largest message in the fuzzed connections: small, so that 1009 is reached too. */
export const FUZZ_MAX_MESSAGE_BYTES = 4096;

const encoder = new TextEncoder();

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
 * Feeds `pieces` to a server connection, checks every frame it would send, and returns what it
 * made of them.
 */
export function runConnection(pieces: Uint8Array[]): ConnectionOutcome {
  const connection = new Connection({ role: "server", maxMessageBytes: FUZZ_MAX_MESSAGE_BYTES });
  const messages: Message[] = [];
  let pongs = 0;
  for (const piece of pieces) {
    // The parser unmasks in place: each run gets its own copy of the bytes.
    messages.push(...connection.receive(piece.slice()));
    pongs += checkServerFrames(connection.dataToSend());
  }
  let closeCode: number | null = null;
  if (connection.failure) {
    closeCode = connection.failure.closeCode;
    if (!VIOLATION_CODES.includes(closeCode)) throw new Error(`violation closes with ${closeCode}`);
    // The reason goes on the wire: it must fit a close frame.
    checkServerFrames([connection.close(closeCode, connection.failure.message)]);
  } else if (connection.closeReceived) {
    closeCode = connection.closeReceived.code;
    if (closeCode !== 1005 && !isValidCloseCode(closeCode)) {
      throw new Error(`accepted a close frame with code ${closeCode}`);
    }
    checkServerFrames([connection.close()]);
  }
  for (const message of messages) {
    if (typeof message !== "string" && !(message instanceof Uint8Array)) {
      throw new Error(`a message of type ${typeof message}`);
    }
    const size = typeof message === "string"
      ? new TextEncoder().encode(message).length
      : message.length;
    if (size > FUZZ_MAX_MESSAGE_BYTES) throw new Error(`a message of ${size} bytes got through`);
  }
  return { messages, closeCode, pongs };
}

/** A message's type, size and FNV-1a hash of its bytes. */
function summary(message: Message): string {
  const bytes = typeof message === "string" ? encoder.encode(message) : message;
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return `${typeof message === "string" ? "text" : "binary"} ${bytes.length} ${hash >>> 0}`;
}

/** Parses what a server sends as its client would; returns how many frames were pongs. */
function checkServerFrames(chunks: Uint8Array[]): number {
  const parser = new FrameParser({ role: "client" });
  let pongs = 0;
  for (const chunk of chunks) {
    parser.push(chunk.slice(), (frame) => pongs += +(frame.opcode === 0xa));
  }
  if (parser.midFrame) throw new Error("the server sent a partial frame");
  return pongs;
}

/**
 * One frame-stream input: the core must accept the bytes whole and cut, and reach the same
 * messages, pongs and close code both ways.
 */
export function fuzzFrames(random: Random): void {
  const bytes = frameStream(random);
  const whole = runConnection([bytes]);
  const pieces = runConnection(cut(random, bytes));
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
