/**
 * The envelope: the bytes a relay carries per message between nodes. Sans-I/O: bytes in, values
 * out. Decoding never throws; what is not an envelope comes back as an {@linkcode EnvelopeError}.
 *
 * Version 1, in order:
 *
 * | bytes     | field                                                                          |
 * | --------- | ------------------------------------------------------------------------------ |
 * | 1         | version: 1                                                                     |
 * | 1         | flags: `0x01` binary (else text), `0x02` topic present, `0x04` sequence present |
 * | 8         | origin node id                                                                 |
 * | 1–8       | origin connection id, unsigned LEB128                                          |
 * | 1–8       | sequence number, unsigned LEB128 (if flagged)                                  |
 * | 1–8 + n   | topic: its UTF-8 length n in LEB128, then the n bytes (if flagged)             |
 * | the rest  | payload                                                                        |
 *
 * The topic and the sequence number are optional because Redis names the topic in the channel
 * and keeps each publisher's order itself, while one `BroadcastChannel` carries every topic and
 * may drop messages. A 16-byte payload through Redis takes 27 bytes. Numbers are LEB128 and at
 * most 2^53 − 1, the largest a JavaScript number holds exactly, in their shortest form.
 *
 * @module
 */

import { decodeUtf8 } from "../protocol/utf8.ts";
import type { MessageKind, Origin } from "./pubsub.ts";

/** The version this codec writes and reads: the first byte of every envelope. */
export const ENVELOPE_VERSION = 1;

const BINARY = 0x01;
const HAS_TOPIC = 0x02;
const HAS_SEQUENCE = 0x04;
const KNOWN_FLAGS = BINARY | HAS_TOPIC | HAS_SEQUENCE;
const NODE_BYTES = 8;
const HEADER_BYTES = 2 + NODE_BYTES;
/** 2^53 − 1 takes 8 LEB128 bytes (7 bits each). */
const MAX_VARINT_BYTES = 8;
const NODE_ID = /^[0-9a-f]{16}$/;

/** One message as a relay carries it. */
export interface Envelope {
  /** Text or binary. */
  kind: MessageKind;
  /** The publishing node and connection. */
  origin: Origin;
  /** The topic, when the transport does not name it (`BroadcastChannel` carries all topics). */
  topic?: string;
  /** The publisher's running number, when the transport can drop messages, to see gaps. */
  sequence?: number;
  /** The message. On decoding, a view into the input bytes, not a copy. */
  payload: Uint8Array;
}

/**
 * Bytes that are not an envelope this codec reads, and why. Returned by
 * {@linkcode decodeEnvelope}, never thrown.
 *
 * @example
 * ```ts
 * import { assertInstanceOf } from "@std/assert";
 * import { decodeEnvelope, EnvelopeError } from "./envelope.ts";
 * assertInstanceOf(decodeEnvelope(new Uint8Array([9])), EnvelopeError);
 * ```
 */
export class EnvelopeError extends Error {
  /** An error saying why the bytes are not an envelope. */
  constructor(message: string) {
    super(message);
    this.name = "EnvelopeError";
  }
}

const encoder = new TextEncoder();

/**
 * Encodes `envelope` into bytes of exactly its size, from `allocate`: by default a buffer of
 * their own, so that posting them to another worker copies nothing else. Every byte of what
 * `allocate` returns is written, so it may be uninitialized memory (`Buffer.allocUnsafe`).
 *
 * @throws {TypeError} when the origin's node is not 16 lowercase hex digits, or the connection
 * id or sequence number is not an integer from 0 to 2^53 − 1: those come from the relay, never
 * from the network.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeEnvelope, encodeEnvelope } from "./envelope.ts";
 * const bytes = encodeEnvelope({
 *   kind: "text",
 *   origin: { node: "00112233445566ff", connection: 5 },
 *   payload: new TextEncoder().encode("hi"),
 * });
 * assertEquals(bytes, new Uint8Array([1, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff, 5, 0x68, 0x69]));
 * assertEquals(decodeEnvelope(bytes), {
 *   kind: "text",
 *   origin: { node: "00112233445566ff", connection: 5 },
 *   payload: new TextEncoder().encode("hi"),
 * });
 * ```
 */
export function encodeEnvelope<Bytes extends Uint8Array = Uint8Array>(
  envelope: Envelope,
  allocate: (size: number) => Bytes = (size) => new Uint8Array(size) as Bytes,
): Bytes {
  const { kind, origin, topic, sequence, payload } = envelope;
  const node = nodeBytes(origin.node);
  const topicBytes = topic === undefined ? undefined : encoder.encode(topic);
  const size = HEADER_BYTES + varintSize(origin.connection, "connection id") +
    (sequence === undefined ? 0 : varintSize(sequence, "sequence number")) +
    (topicBytes === undefined ? 0 : varintSize(topicBytes.length) + topicBytes.length) +
    payload.length;
  const bytes = allocate(size);
  bytes[0] = ENVELOPE_VERSION;
  bytes[1] = (kind === "binary" ? BINARY : 0) | (topicBytes ? HAS_TOPIC : 0) |
    (sequence === undefined ? 0 : HAS_SEQUENCE);
  bytes.set(node, 2);
  let at = writeVarint(bytes, HEADER_BYTES, origin.connection);
  if (sequence !== undefined) at = writeVarint(bytes, at, sequence);
  if (topicBytes) {
    at = writeVarint(bytes, at, topicBytes.length);
    bytes.set(topicBytes, at);
    at += topicBytes.length;
  }
  bytes.set(payload, at);
  return bytes;
}

/**
 * Decodes one envelope. Never throws: bytes that are not a version-1 envelope (empty, another
 * version, unknown flags, cut short, a number over 2^53 − 1 or not in its shortest form, a topic
 * or a text payload that is not UTF-8) come back as an {@linkcode EnvelopeError} saying which.
 * The payload is a view into `bytes`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeEnvelope } from "./envelope.ts";
 * const truncated = decodeEnvelope(new Uint8Array([1, 0, 0xab]));
 * assertEquals(String(truncated), "EnvelopeError: truncated: 3 bytes end inside the node id");
 * ```
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope | EnvelopeError {
  try {
    return decode(bytes);
  } catch (error) {
    // decode() returns every error it knows of; this only keeps a bug from reaching the caller.
    return new EnvelopeError(`not an envelope: ${error}`);
  }
}

function decode(bytes: Uint8Array): Envelope | EnvelopeError {
  if (bytes.length === 0) return new EnvelopeError("empty");
  if (bytes[0] !== ENVELOPE_VERSION) {
    return new EnvelopeError(`unknown version ${bytes[0]} (this codec reads ${ENVELOPE_VERSION})`);
  }
  if (bytes.length < 2) return new EnvelopeError("truncated: 1 byte ends before the flags");
  const flags = bytes[1];
  if (flags & ~KNOWN_FLAGS) {
    return new EnvelopeError(`unknown flags 0x${flags.toString(16).padStart(2, "0")}`);
  }
  if (bytes.length < HEADER_BYTES) {
    return new EnvelopeError(`truncated: ${bytes.length} bytes end inside the node id`);
  }
  let node = "";
  for (let i = 2; i < HEADER_BYTES; i++) node += HEX[bytes[i]];
  const cursor = { at: HEADER_BYTES };
  const connection = readVarint(bytes, cursor, "connection id");
  if (connection instanceof EnvelopeError) return connection;
  const envelope: Envelope = {
    kind: flags & BINARY ? "binary" : "text",
    origin: { node, connection },
    payload: bytes,
  };
  if (flags & HAS_SEQUENCE) {
    const sequence = readVarint(bytes, cursor, "sequence number");
    if (sequence instanceof EnvelopeError) return sequence;
    envelope.sequence = sequence;
  }
  if (flags & HAS_TOPIC) {
    const length = readVarint(bytes, cursor, "topic length");
    if (length instanceof EnvelopeError) return length;
    if (cursor.at + length > bytes.length) {
      return new EnvelopeError(
        `truncated: the topic needs ${length} bytes, ${bytes.length - cursor.at} are left`,
      );
    }
    const topic = utf8(bytes.subarray(cursor.at, cursor.at + length));
    if (topic === undefined) return new EnvelopeError("the topic is not UTF-8");
    envelope.topic = topic;
    cursor.at += length;
  }
  envelope.payload = bytes.subarray(cursor.at);
  // A text payload goes out in text frames as it is: invalid UTF-8 there would make every
  // subscribed client fail its connection (RFC 6455 §8.1), so it stops here.
  if (envelope.kind === "text" && utf8(envelope.payload) === undefined) {
    return new EnvelopeError("the text payload is not UTF-8");
  }
  return envelope;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** The last node id encoded, and its bytes: a relay encodes its own id on every publish. */
let lastNode = "";
let lastNodeBytes = new Uint8Array(NODE_BYTES);

function nodeBytes(node: string): Uint8Array {
  if (node === lastNode) return lastNodeBytes;
  if (!NODE_ID.test(node)) {
    throw new TypeError(`a node id is 16 lowercase hex digits, not ${JSON.stringify(node)}`);
  }
  const bytes = new Uint8Array(NODE_BYTES);
  for (let i = 0; i < NODE_BYTES; i++) bytes[i] = parseInt(node.slice(2 * i, 2 * i + 2), 16);
  [lastNode, lastNodeBytes] = [node, bytes];
  return bytes;
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decodeUtf8(bytes);
  } catch {
    return undefined;
  }
}

function varintSize(value: number, what = "length"): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`a ${what} is an integer from 0 to 2^53 - 1, not ${value}`);
  }
  let size = 1;
  for (; value >= 0x80; size++) value = Math.floor(value / 0x80);
  return size;
}

/** Writes `value` as LEB128 at `at`; returns the offset after it. Division, not shifts: 53 bits. */
function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    bytes[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[at++] = value;
  return at;
}

function readVarint(
  bytes: Uint8Array,
  cursor: { at: number },
  what: string,
): number | EnvelopeError {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = cursor.at + i;
    if (at >= bytes.length) {
      return new EnvelopeError(`truncated: ${bytes.length} bytes end inside the ${what}`);
    }
    const byte = bytes[at];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (byte === 0 && i > 0) {
        return new EnvelopeError(`the ${what} is not in its shortest form`);
      }
      if (value > Number.MAX_SAFE_INTEGER) {
        return new EnvelopeError(`the ${what} is over 2^53 - 1`);
      }
      cursor.at = at + 1;
      return value;
    }
    scale *= 0x80;
  }
  return new EnvelopeError(`the ${what} is over 2^53 - 1`);
}
