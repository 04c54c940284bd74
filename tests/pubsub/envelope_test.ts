import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  ENVELOPE_VERSION,
  EnvelopeError,
} from "../../src/pubsub/envelope.ts";

const NODE = "0123456789abcdef";
const NODE_BYTES = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
const utf8 = (text: string) => new TextEncoder().encode(text);

/** Why `bytes` are not an envelope; fails if they decode as one. */
function rejection(bytes: Uint8Array, what: string): string {
  const decoded = decodeEnvelope(bytes);
  assertInstanceOf(decoded, EnvelopeError, what);
  return (decoded as EnvelopeError).message;
}

/** Envelopes with every field's edge: each kind, with and without topic and sequence. */
const ENVELOPES: Envelope[] = [
  { kind: "text", origin: { node: NODE, connection: 0 }, payload: new Uint8Array() },
  { kind: "text", origin: { node: NODE, connection: 127 }, payload: utf8("κόσμε €") },
  { kind: "binary", origin: { node: NODE, connection: 128 }, payload: new Uint8Array([0, 0xff]) },
  {
    kind: "binary",
    origin: { node: "ffffffffffffffff", connection: Number.MAX_SAFE_INTEGER },
    topic: "",
    sequence: 0,
    payload: new Uint8Array(1024).fill(0xc0),
  },
  {
    kind: "text",
    origin: { node: "0000000000000000", connection: 2 ** 32 },
    topic: "room/κόσμε",
    sequence: Number.MAX_SAFE_INTEGER,
    payload: utf8("hello"),
  },
  {
    kind: "text",
    origin: { node: NODE, connection: 1 },
    sequence: 300,
    payload: utf8("no topic, a sequence"),
  },
  {
    kind: "binary",
    origin: { node: NODE, connection: 1 },
    topic: "a topic, no sequence",
    payload: new Uint8Array([1]),
  },
];

Deno.test("envelope: every field round-trips, each kind, with and without topic and sequence", () => {
  for (const envelope of ENVELOPES) {
    assertEquals(decodeEnvelope(encodeEnvelope(envelope)), envelope);
  }
});

Deno.test("envelope: writes version 1, the flags, the node, LEB128 numbers, then topic and payload", () => {
  const bytes = encodeEnvelope({
    kind: "binary",
    origin: { node: NODE, connection: 300 },
    topic: "t",
    sequence: 1,
    payload: new Uint8Array([0xaa]),
  });
  // 300 = 0b10_0101100: 0xac 0x02 in LEB128.
  assertEquals(
    bytes,
    new Uint8Array([
      ENVELOPE_VERSION,
      0x07,
      ...NODE_BYTES,
      0xac,
      0x02,
      0x01,
      0x01,
      0x74,
      0xaa,
    ]),
  );
});

Deno.test("envelope: a 16-byte payload through Redis takes 27 bytes, in a buffer of its own", () => {
  const bytes = encodeEnvelope({
    kind: "binary",
    origin: { node: NODE, connection: 1 },
    payload: new Uint8Array(16),
  });
  assertEquals(bytes.length, 27);
  assertEquals(bytes.buffer.byteLength, 27);
});

Deno.test("envelope: the decoded payload is a view into the input, not a copy", () => {
  const bytes = encodeEnvelope({
    kind: "binary",
    origin: { node: NODE, connection: 1 },
    payload: new Uint8Array([1, 2, 3]),
  });
  const envelope = decodeEnvelope(bytes) as Envelope;
  assertEquals(envelope.payload.buffer, bytes.buffer);
  assertEquals(envelope.payload.byteOffset, bytes.length - 3);
});

Deno.test("envelope: every cut short of the end inside the header is rejected as truncated", () => {
  for (const envelope of ENVELOPES) {
    const bytes = encodeEnvelope(envelope);
    const headerEnd = bytes.length - envelope.payload.length;
    for (let cut = 0; cut < headerEnd; cut++) {
      const message = rejection(bytes.subarray(0, cut), `cut at ${cut} of ${envelope.topic}`);
      assertEquals(/^(empty|truncated: )/.test(message), true, `cut at ${cut}: ${message}`);
    }
  }
});

Deno.test("envelope: each kind of bad input is rejected with an error saying which", () => {
  const header = [ENVELOPE_VERSION, 0x00, ...NODE_BYTES];
  const cases: [string, number[]][] = [
    ["empty", []],
    ["unknown version 2 (this codec reads 1)", [2, ...header.slice(1), 0]],
    ["unknown version 0 (this codec reads 1)", [0]],
    ["truncated: 1 byte ends before the flags", [1]],
    ["unknown flags 0x08", [1, 0x08, ...NODE_BYTES, 0]],
    ["unknown flags 0x81", [1, 0x81, ...NODE_BYTES, 0]],
    ["truncated: 5 bytes end inside the node id", header.slice(0, 5)],
    ["truncated: 10 bytes end inside the connection id", header],
    ["truncated: 11 bytes end inside the connection id", [...header, 0x80]],
    ["the connection id is not in its shortest form", [...header, 0x80, 0x00]],
    ["the connection id is over 2^53 - 1", [...header, ...Array(7).fill(0xff), 0x10]],
    ["the connection id is over 2^53 - 1", [...header, ...Array(8).fill(0xff), 0x01]],
    ["truncated: 11 bytes end inside the sequence number", [1, 0x04, ...NODE_BYTES, 0]],
    ["truncated: 11 bytes end inside the topic length", [1, 0x02, ...NODE_BYTES, 0]],
    ["truncated: the topic needs 3 bytes, 2 are left", [1, 0x02, ...NODE_BYTES, 0, 3, 0x61, 0x62]],
    ["the topic is not UTF-8", [1, 0x03, ...NODE_BYTES, 0, 1, 0xff]],
    ["the text payload is not UTF-8", [...header, 0, 0xc0, 0x80]],
    ["the text payload is not UTF-8", [...header, 0, 0xe2, 0x82]],
  ];
  for (const [message, bytes] of cases) {
    assertEquals(rejection(new Uint8Array(bytes), message), message, `bytes ${bytes}`);
  }
});

Deno.test("envelope: the largest connection id, 2^53 - 1, is the last one accepted", () => {
  const header = [ENVELOPE_VERSION, 0x01, ...NODE_BYTES];
  // 2^53 - 1: seven bytes of 0x7f with the continuation bit, then 0x0f.
  const largest = decodeEnvelope(new Uint8Array([...header, ...Array(7).fill(0xff), 0x0f]));
  assertEquals((largest as Envelope).origin.connection, Number.MAX_SAFE_INTEGER);
});

Deno.test("envelope: binary payloads are bytes, whatever they are; only text must be UTF-8", () => {
  const bytes = new Uint8Array([ENVELOPE_VERSION, 0x01, ...NODE_BYTES, 0, 0xc0, 0x80, 0xff]);
  assertEquals((decodeEnvelope(bytes) as Envelope).payload, new Uint8Array([0xc0, 0x80, 0xff]));
});

Deno.test("envelope: decoding never throws: every 1- and 3-byte input, envelopes with a byte changed", () => {
  // Each lone byte, each version-1 flags and node byte pair, and the first 24 bytes of each
  // envelope above set in turn to the values that matter to LEB128 and the flags.
  for (let a = 0; a < 256; a++) {
    decodeEnvelope(new Uint8Array([a]));
    for (let b = 0; b < 256; b++) decodeEnvelope(new Uint8Array([1, a, b]));
  }
  for (const envelope of ENVELOPES) {
    const bytes = encodeEnvelope(envelope);
    for (let at = 0; at < Math.min(bytes.length, 24); at++) {
      for (const value of [0x00, 0x7f, 0x80, 0xff]) {
        const changed = bytes.slice();
        changed[at] = value;
        const decoded = decodeEnvelope(changed);
        assertEquals(decoded instanceof EnvelopeError || typeof decoded.kind === "string", true);
      }
    }
  }
});

Deno.test("envelope: encoding rejects what only a bug would pass: a bad node id or number", () => {
  const base: Envelope = { kind: "text", origin: { node: NODE, connection: 0 }, payload: utf8("") };
  for (const node of ["", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdefa", "xyz"]) {
    assertThrows(() => encodeEnvelope({ ...base, origin: { node, connection: 0 } }), TypeError);
  }
  for (const connection of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, NaN]) {
    assertThrows(() => encodeEnvelope({ ...base, origin: { node: NODE, connection } }), TypeError);
  }
  assertThrows(() => encodeEnvelope({ ...base, sequence: -1 }), TypeError);
});
