/**
 * Conformance, UTF-8 in text messages (Autobahn 6.x, RFC 6455 §8.1): valid text of every
 * sequence length is echoed byte for byte, however it is fragmented or delivered; invalid text —
 * overlong forms, surrogates, code points past U+10FFFF, stray or missing continuation bytes —
 * fails the connection with 1007. Failing is fast: an invalid sequence is answered as soon as its
 * bytes arrive, without waiting for the rest of its frame or message (6.4.x).
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { bytesOf, bytewise, concat, fragments, frame } from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import { type Chops, exchange, serverFrame } from "./support.ts";

const KOSME = "κόσμε";
const MiB = 1024n * 1024n;

/** UTF-8 that a text message may carry, as bytes (so a decoder cannot normalise it away). */
const VALID = [
  { id: "6.2.1", name: "Latin-1 and ASCII", bytes: bytesOf("Hello-µ@ßöäüàá-UTF-8!!") },
  { id: "6.5.1", name: "Greek κόσμε", bytes: bytesOf(KOSME) },
  { id: "6.7.1", name: "U+0000", bytes: bytesOf([0x00]) },
  { id: "6.7.2", name: "U+0080, the first 2-byte sequence", bytes: bytesOf([0xc2, 0x80]) },
  { id: "6.7.3", name: "U+0800, the first 3-byte sequence", bytes: bytesOf([0xe0, 0xa0, 0x80]) },
  {
    id: "6.7.4",
    name: "U+10000, the first 4-byte sequence",
    bytes: bytesOf([0xf0, 0x90, 0x80, 0x80]),
  },
  { id: "6.9.1", name: "U+007F, the last 1-byte sequence", bytes: bytesOf([0x7f]) },
  { id: "6.9.2", name: "U+07FF, the last 2-byte sequence", bytes: bytesOf([0xdf, 0xbf]) },
  { id: "6.9.3", name: "U+FFFF, the last 3-byte sequence", bytes: bytesOf([0xef, 0xbf, 0xbf]) },
  { id: "6.9.4", name: "U+10FFFF, the last code point", bytes: bytesOf([0xf4, 0x8f, 0xbf, 0xbf]) },
  { id: "6.11.1", name: "U+D7FF, just below the surrogates", bytes: bytesOf([0xed, 0x9f, 0xbf]) },
  { id: "6.11.2", name: "U+E000, just above the surrogates", bytes: bytesOf([0xee, 0x80, 0x80]) },
  { id: "6.11.3", name: "U+FFFD", bytes: bytesOf([0xef, 0xbf, 0xbd]) },
  { id: "6.22.1", name: "the non-character U+FFFE", bytes: bytesOf([0xef, 0xbf, 0xbe]) },
  { id: "6.22.2", name: "the non-character U+FDD0", bytes: bytesOf([0xef, 0xb7, 0x90]) },
  { id: "6.22.3", name: "the non-character U+10FFFE", bytes: bytesOf([0xf4, 0x8f, 0xbf, 0xbe]) },
  {
    id: "6.23.1",
    name: "a leading byte order mark (kept, not stripped)",
    bytes: bytesOf([0xef, 0xbb, 0xbf, 0x42, 0x4f, 0x4d]),
  },
  { id: "6.23.2", name: "a 4-byte sequence among others", bytes: bytesOf("G-clef 𝄞, euro €, κ") },
];

/** Bytes that are not UTF-8, each at a place where the verdict can first be made. */
const INVALID = [
  {
    id: "6.3.1",
    name: "a surrogate after valid text",
    bytes: concat(bytesOf(KOSME), bytesOf([0xed, 0xa0, 0x80]), bytesOf("edited")),
  },
  { id: "6.8.1", name: "a 5-byte sequence", bytes: bytesOf([0xf8, 0x88, 0x80, 0x80, 0x80]) },
  { id: "6.8.2", name: "a 6-byte sequence", bytes: bytesOf([0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]) },
  { id: "6.10.1", name: "U+1FFFFF in 4 bytes", bytes: bytesOf([0xf7, 0xbf, 0xbf, 0xbf]) },
  {
    id: "6.11.5",
    name: "U+110000, past the last code point",
    bytes: bytesOf([0xf4, 0x90, 0x80, 0x80]),
  },
  { id: "6.12.1", name: "a lone continuation byte 0x80", bytes: bytesOf([0x80]) },
  { id: "6.12.2", name: "a lone continuation byte 0xbf", bytes: bytesOf([0xbf]) },
  {
    id: "6.12.3",
    name: "continuation bytes after valid text",
    bytes: concat(bytesOf(KOSME), bytesOf([0x80, 0xbf])),
  },
  { id: "6.13.1", name: "a 2-byte lead followed by a space", bytes: bytesOf([0xc2, 0x20]) },
  { id: "6.13.2", name: "a 3-byte lead followed by a space", bytes: bytesOf([0xe0, 0x20]) },
  { id: "6.13.3", name: "a 4-byte lead followed by a space", bytes: bytesOf([0xf0, 0x20]) },
  { id: "6.14.1", name: "a 2-byte sequence cut at the end of the message", bytes: bytesOf([0xce]) },
  {
    id: "6.14.2",
    name: "a 3-byte sequence cut at the end of the message",
    bytes: concat(bytesOf(KOSME), bytesOf([0xe2, 0x82])),
  },
  {
    id: "6.14.3",
    name: "a 4-byte sequence cut at the end of the message",
    bytes: bytesOf([0xf0, 0x9d, 0x84]),
  },
  {
    id: "6.15.1",
    name: "incomplete sequences one after another",
    bytes: bytesOf([0xc2, 0xe0, 0xa0, 0xf0, 0x90, 0x80]),
  },
  { id: "6.16.1", name: "the impossible byte 0xfe", bytes: bytesOf([0xfe]) },
  { id: "6.16.2", name: "the impossible byte 0xff", bytes: bytesOf([0xff]) },
  {
    id: "6.16.3",
    name: "impossible bytes after valid text",
    bytes: concat(bytesOf(KOSME), bytesOf([0xfe, 0xfe, 0xff, 0xff])),
  },
  { id: "6.17.1", name: "'/' overlong in 2 bytes", bytes: bytesOf([0xc0, 0xaf]) },
  { id: "6.17.2", name: "'/' overlong in 3 bytes", bytes: bytesOf([0xe0, 0x80, 0xaf]) },
  { id: "6.17.3", name: "'/' overlong in 4 bytes", bytes: bytesOf([0xf0, 0x80, 0x80, 0xaf]) },
  { id: "6.18.1", name: "the largest overlong 2-byte sequence", bytes: bytesOf([0xc1, 0xbf]) },
  {
    id: "6.18.2",
    name: "the largest overlong 3-byte sequence",
    bytes: bytesOf([0xe0, 0x9f, 0xbf]),
  },
  {
    id: "6.18.3",
    name: "the largest overlong 4-byte sequence",
    bytes: bytesOf([0xf0, 0x8f, 0xbf, 0xbf]),
  },
  { id: "6.19.1", name: "NUL overlong in 2 bytes", bytes: bytesOf([0xc0, 0x80]) },
  { id: "6.19.2", name: "NUL overlong in 3 bytes", bytes: bytesOf([0xe0, 0x80, 0x80]) },
  { id: "6.20.1", name: "the surrogate U+D800", bytes: bytesOf([0xed, 0xa0, 0x80]) },
  { id: "6.20.2", name: "the surrogate U+DBFF", bytes: bytesOf([0xed, 0xaf, 0xbf]) },
  { id: "6.20.3", name: "the surrogate U+DC00", bytes: bytesOf([0xed, 0xb0, 0x80]) },
  { id: "6.20.4", name: "the surrogate U+DFFF", bytes: bytesOf([0xed, 0xbf, 0xbf]) },
  {
    id: "6.21.1",
    name: "the surrogate pair U+D800 U+DC00",
    bytes: bytesOf([0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80]),
  },
  {
    id: "6.21.2",
    name: "the surrogate pair U+DBFF U+DFFF",
    bytes: bytesOf([0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf]),
  },
];

/** The three ways each text goes: one frame, one frame written byte by byte, 1-byte fragments. */
function deliveries(bytes: Uint8Array): { how: string; send: Uint8Array[]; chops: Chops }[] {
  return [
    { how: "one frame", send: [frame(Opcode.Text, bytes)], chops: "one write" },
    {
      how: "one frame written byte by byte",
      send: [frame(Opcode.Text, bytes)],
      chops: "byte by byte",
    },
    { how: "1-byte fragments", send: fragments(Opcode.Text, bytewise(bytes)), chops: "one write" },
  ];
}

testCli("conformance: UTF-8 (Autobahn 6.x)", async ({ port }, t) => {
  for (const { id, name, bytes } of VALID) {
    await t.step(
      `${id} ${name} is echoed byte for byte: as one frame, written byte by byte, in 1-byte ` +
        `fragments`,
      async (t) => {
        for (const { how, send, chops } of deliveries(bytes)) {
          await t.step(
            `${id} ${how}`,
            () => exchange(port, { send, chops, replies: [serverFrame(Opcode.Text, bytes)] }),
          );
        }
      },
    );
  }

  for (const { id, name, bytes } of INVALID) {
    await t.step(
      `${id} ${name} closes with 1007: as one frame, written byte by byte, in 1-byte fragments`,
      async (t) => {
        for (const { how, send, chops } of deliveries(bytes)) {
          await t.step(
            `${id} ${how}`,
            () => exchange(port, { send, chops, closeCode: CloseCode.InvalidPayload }),
          );
        }
      },
    );
  }

  const acrossFragments = [
    {
      id: "6.4.1",
      name: "a surrogate begun in one fragment and ended in the next closes with 1007",
      parts: [
        concat(bytesOf(KOSME), bytesOf([0xed])),
        concat(bytesOf([0xa0, 0x80]), bytesOf("edited")),
      ],
      echo: null,
    },
    {
      id: "6.4.2",
      name: "a code point past U+10FFFF spread over three fragments closes with 1007",
      parts: [bytesOf([0xf4]), bytesOf([0x90]), bytesOf([0x80, 0x80])],
      echo: null,
    },
    {
      id: "6.4.3",
      name: "a message whose last fragment ends inside a sequence closes with 1007",
      parts: [bytesOf(KOSME), bytesOf([0xf0, 0x9d])],
      echo: null,
    },
    {
      id: "6.4.4",
      name: "a valid 4-byte sequence spread over three fragments is echoed whole",
      parts: [bytesOf([0xf0, 0x9d]), bytesOf([0x84]), bytesOf([0x9e])],
      echo: "𝄞",
    },
  ];
  for (const { id, name, parts, echo } of acrossFragments) {
    await t.step(`${id} ${name}`, () =>
      exchange(port, {
        send: fragments(Opcode.Text, parts),
        chops: "frame by frame",
        ...(echo === null
          ? { closeCode: CloseCode.InvalidPayload }
          : { replies: [serverFrame(Opcode.Text, echo)] }),
      }));
  }

  await t.step(
    "6.4.5 40 KB of valid multi-byte text in one frame, written in 997-byte pieces that cut " +
      "sequences, is echoed byte for byte",
    () => {
      const text = bytesOf(`${KOSME} 𝄞 €\n`.repeat(2000));
      return exchange(port, {
        send: [frame(Opcode.Text, text)],
        chops: 997,
        replies: [serverFrame(Opcode.Text, text)],
      });
    },
  );

  // Fail fast (RFC 6455 §8.1): the rest of these frames and messages is never sent, so the only
  // way to pass is to judge the bytes that came.
  // Valid text, then F4 90: past U+10FFFF already at its second byte.
  const pastMaxCodePoint = frame(Opcode.Text, concat(bytesOf(KOSME), bytesOf([0xf4, 0x90])), {
    declaredLength: MiB,
  });
  const failFast = [
    {
      id: "6.4.6",
      name: "an invalid sequence at the start of a text frame declaring 1 MiB",
      writes: [frame(Opcode.Text, [0xed, 0xa0, 0x80], { declaredLength: MiB })],
    },
    {
      id: "6.4.7",
      name: "an invalid sequence written after valid text, inside a text frame declaring 1 MiB",
      writes: [pastMaxCodePoint.subarray(0, -2), pastMaxCodePoint.subarray(-2)],
    },
    {
      id: "6.4.8",
      name: "an invalid first fragment of a message whose final fragment never comes",
      writes: [frame(Opcode.Text, concat(bytesOf(KOSME), bytesOf([0xc0, 0xaf])), { fin: false })],
    },
    {
      id: "6.4.9",
      name: "an invalid sequence at the start of a continuation declaring 1 MiB",
      writes: [
        frame(Opcode.Text, KOSME, { fin: false }),
        frame(Opcode.Continuation, [0xc0, 0xaf], { fin: false, declaredLength: MiB }),
      ],
    },
    {
      id: "6.4.10",
      name: "a sequence begun at the end of a fragment and made invalid at the start of a " +
        "continuation declaring 1 MiB",
      writes: [
        frame(Opcode.Text, concat(bytesOf(KOSME), bytesOf([0xf4])), { fin: false }),
        frame(Opcode.Continuation, [0x90], { declaredLength: MiB }),
      ],
    },
  ];
  for (const { id, name, writes } of failFast) {
    await t.step(`${id} ${name} closes with 1007 before the rest is sent`, () =>
      exchange(port, {
        send: writes,
        chops: "frame by frame",
        closeCode: CloseCode.InvalidPayload,
      }));
  }
});
