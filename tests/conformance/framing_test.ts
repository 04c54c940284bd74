/**
 * Conformance, framing (Autobahn 1.x, 3.x, 4.x): data frames of every length encoding echoed
 * exactly; reserved bits, reserved opcodes, unmasked frames and impossible 64-bit lengths fail
 * the connection with 1002 — after echoing what came before, and without answering what came
 * after. Cases 1.3 and 1.4 have no Autobahn counterpart; they take the next free ids.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { bytesOf, frame, letters, patterned } from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import { type Chops, exchange, serverFrame } from "./support.ts";

/** Autobahn 1.1.1–1.1.7: the edges of the 7-bit, 16-bit and 64-bit length encodings. */
const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

/** A payload of `length` bytes: letters for text, a byte pattern for binary. */
function payloadOf(opcode: number, length: number): Uint8Array {
  return opcode === Opcode.Text ? bytesOf(letters(length)) : patterned(length);
}

const NAMES: Record<number, string> = {
  [Opcode.Text]: "text",
  [Opcode.Binary]: "binary",
  [Opcode.Close]: "close",
  [Opcode.Ping]: "ping",
};

testCli("conformance: framing (Autobahn 1.x, 3.x, 4.x)", async ({ port }, t) => {
  for (const [group, opcode] of [["1.1", Opcode.Text], ["1.2", Opcode.Binary]] as const) {
    const cases: { length: number; chops: Chops }[] = [
      ...LENGTHS.map((length) => ({ length, chops: "one write" as Chops })),
      { length: 65536, chops: 997 },
    ];
    for (const [index, { length, chops }] of cases.entries()) {
      const how = chops === "one write" ? "" : ` written in ${chops}-byte pieces`;
      await t.step(
        `${group}.${index + 1} ${NAMES[opcode]} message of ${length} bytes${how} is echoed exactly`,
        async () => {
          const payload = payloadOf(opcode, length);
          await exchange(port, {
            send: [frame(opcode, payload)],
            chops,
            replies: [serverFrame(opcode, payload)],
          });
        },
      );
    }
  }

  // Autobahn 3.1–3.7: every combination of RSV bits (RSV1 = 4), on data and control frames. No
  // extension is negotiated, so any set bit is a protocol error (RFC 6455 §5.2).
  const reservedBitCases: { id: string; rsv: number; opcode: number; chops: Chops }[] = [
    { id: "3.1", rsv: 1, opcode: Opcode.Text, chops: "one write" },
    { id: "3.2", rsv: 2, opcode: Opcode.Text, chops: "one write" },
    { id: "3.3", rsv: 3, opcode: Opcode.Text, chops: "frame by frame" },
    { id: "3.4", rsv: 4, opcode: Opcode.Text, chops: "byte by byte" },
    { id: "3.5", rsv: 5, opcode: Opcode.Binary, chops: "one write" },
    { id: "3.6", rsv: 6, opcode: Opcode.Ping, chops: "one write" },
    { id: "3.7", rsv: 7, opcode: Opcode.Close, chops: "one write" },
  ];
  for (const { id, rsv, opcode, chops } of reservedBitCases) {
    await t.step(
      `${id} a ${NAMES[opcode]} frame with RSV bits ${rsv} (${chops}) closes with 1002, after ` +
        `echoing the text before it and without answering the ping after it`,
      async () => {
        await exchange(port, {
          send: [
            frame(Opcode.Text, "Hello"),
            frame(opcode, opcode === Opcode.Close ? [0x03, 0xe8] : "bits", { rsv }),
            frame(Opcode.Ping, "after"),
          ],
          chops,
          replies: [serverFrame(Opcode.Text, "Hello")],
          closeCode: CloseCode.ProtocolError,
        });
      },
    );
  }

  // Autobahn 4.1.x (data opcodes 3–7) and 4.2.x (control opcodes 11–15) are reserved.
  const chopsByCase: Chops[] = [
    "one write",
    "one write",
    "one write",
    "frame by frame",
    "byte by byte",
  ];
  for (
    const [group, opcodes] of [["4.1", [3, 4, 5, 6, 7]], ["4.2", [11, 12, 13, 14, 15]]] as const
  ) {
    for (const [index, opcode] of opcodes.entries()) {
      const chops = chopsByCase[index];
      await t.step(
        `${group}.${index + 1} reserved opcode ${opcode} (${chops}) closes with 1002, after ` +
          `echoing the text before it and without answering the ping after it`,
        async () => {
          await exchange(port, {
            send: [
              frame(Opcode.Text, "Hello"),
              frame(opcode, "reserved"),
              frame(Opcode.Ping, "after"),
            ],
            chops,
            replies: [serverFrame(Opcode.Text, "Hello")],
            closeCode: CloseCode.ProtocolError,
          });
        },
      );
    }
  }

  // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame.
  const unmaskedCases = [
    { id: "1.3.1", opcode: Opcode.Text, payload: "Hello" },
    { id: "1.3.2", opcode: Opcode.Binary, payload: "Hello" },
    { id: "1.3.3", opcode: Opcode.Ping, payload: "Hello" },
    { id: "1.3.4", opcode: Opcode.Text, payload: "" },
  ];
  for (const { id, opcode, payload } of unmaskedCases) {
    await t.step(
      `${id} an unmasked ${NAMES[opcode]} frame of ${payload.length} bytes closes with 1002, ` +
        `after echoing the masked text before it`,
      async () => {
        await exchange(port, {
          send: [frame(Opcode.Text, "first"), frame(opcode, payload, { mask: null })],
          replies: [serverFrame(Opcode.Text, "first")],
          closeCode: CloseCode.ProtocolError,
        });
      },
    );
  }

  // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0. Only the header is
  // sent: the verdict must not wait for a payload that could never be sent.
  const topBitLengths = [
    { id: "1.4.1", opcode: Opcode.Binary, length: 1n << 63n },
    { id: "1.4.2", opcode: Opcode.Text, length: (1n << 63n) + 5n },
    { id: "1.4.3", opcode: Opcode.Binary, length: (1n << 64n) - 1n },
  ];
  for (const { id, opcode, length } of topBitLengths) {
    await t.step(
      `${id} a ${NAMES[opcode]} frame whose 64-bit length 0x${length.toString(16)} has the top ` +
        `bit set closes with 1002 on its header alone`,
      async () => {
        await exchange(port, {
          send: [frame(opcode, [], { declaredLength: length })],
          closeCode: CloseCode.ProtocolError,
        });
      },
    );
  }
});
