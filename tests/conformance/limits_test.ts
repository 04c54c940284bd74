/**
 * Conformance, the message size limit (RFC 6455 §10.4; Autobahn 9.x sends large messages, but
 * has no case for a limit). The CLI keeps the default of 64 MiB: a message over it — one frame,
 * or fragments summed — fails with 1009 as soon as a frame header shows it, before any of the
 * payload is sent; a message of exactly 64 MiB is echoed. The default fragment limit lets a
 * message come in 65 536 frames, as Autobahn 9.3 and 9.4 send them, and fails one more with 1008.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { fragments, frame, patterned } from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import {
  closeHandshake,
  exchange,
  expectBytes,
  expectEcho,
  expectPong,
  openClient,
  serverFrame,
} from "./support.ts";

const LIMIT = 64 * 1024 * 1024;
const KiB = 1024;

testCli("conformance: message size limit (Autobahn 9.x)", async ({ port }, t) => {
  // Only headers (and small fragments) are sent: the server must judge on the declared length.
  const overLimit = [
    {
      id: "9.1.1",
      name: "a text frame declaring 64 MiB + 1",
      send: [frame(Opcode.Text, [], { declaredLength: BigInt(LIMIT + 1) })],
      replies: [],
    },
    {
      id: "9.1.2",
      name: "a binary frame declaring 64 MiB + 1",
      send: [frame(Opcode.Binary, [], { declaredLength: BigInt(LIMIT + 1) })],
      replies: [],
    },
    {
      id: "9.1.3",
      name: "a binary frame declaring 2^63 - 1 bytes",
      send: [frame(Opcode.Binary, [], { declaredLength: (1n << 63n) - 1n })],
      replies: [],
    },
    {
      id: "9.1.4",
      name: "a frame declaring 64 MiB + 1 after a complete message (which is echoed first)",
      send: [
        frame(Opcode.Text, "small first"),
        frame(Opcode.Binary, [], { declaredLength: BigInt(LIMIT + 1) }),
      ],
      replies: [serverFrame(Opcode.Text, "small first")],
    },
    {
      id: "9.2.1",
      name: "a first fragment declaring 64 MiB + 1",
      send: [frame(Opcode.Binary, [], { fin: false, declaredLength: BigInt(LIMIT + 1) })],
      replies: [],
    },
    {
      id: "9.2.2",
      name: "a 1 KiB fragment, then a final continuation declaring 64 MiB - 1 KiB + 1",
      send: [
        frame(Opcode.Binary, patterned(KiB), { fin: false }),
        frame(Opcode.Continuation, [], { declaredLength: BigInt(LIMIT - KiB + 1) }),
      ],
      replies: [],
    },
    {
      id: "9.2.3",
      name: "four 1 KiB text fragments, then a continuation declaring 64 MiB - 4 KiB + 1",
      send: [
        ...[Opcode.Text, Opcode.Continuation, Opcode.Continuation, Opcode.Continuation].map(
          (opcode) => frame(opcode, "k".repeat(KiB), { fin: false }),
        ),
        frame(Opcode.Continuation, [], { fin: false, declaredLength: BigInt(LIMIT - 4 * KiB + 1) }),
      ],
      replies: [],
    },
  ];
  for (const { id, name, send, replies } of overLimit) {
    await t.step(`${id} ${name} closes with 1009 before the payload is sent`, () =>
      exchange(port, {
        send,
        chops: "frame by frame",
        replies,
        closeCode: CloseCode.MessageTooBig,
      }));
  }

  await t.step(
    "9.2.4 a fragmented message of exactly 64 MiB, with a ping between its fragments and " +
      "after another fragmented message, gets its pong and is echoed whole",
    async () => {
      const payload = patterned(LIMIT);
      await using client = await openClient(port);
      // A message before it: the count of message bytes must start again from zero.
      const before = payload.subarray(0, 2 * KiB);
      await client.writePieces(
        fragments(Opcode.Binary, [before.subarray(0, KiB), before.subarray(KiB)]),
        1,
      );
      await expectEcho(client, Opcode.Binary, before);
      // The ping's bytes must not count toward the message either.
      await client.write(frame(Opcode.Binary, payload.subarray(0, KiB), { fin: false }));
      await client.write(frame(Opcode.Ping, new Uint8Array(125)));
      await expectPong(client, new Uint8Array(125));
      await client.write(frame(Opcode.Continuation, payload.subarray(KiB)));
      await expectBytes(client, serverFrame(Opcode.Binary, payload), "echo of 64 MiB");
      await closeHandshake(client);
    },
  );
});

testCli("conformance: the default fragment limit (Autobahn 9.3, 9.4)", async ({ port }, t) => {
  const FRAGMENTS = 65_536;
  const payload = patterned(FRAGMENTS + 1);
  /** A binary message of `count` one-byte fragments. */
  const oneByteEach = (count: number) =>
    fragments(Opcode.Binary, Array.from({ length: count }, (_, i) => payload.subarray(i, i + 1)));

  await t.step("a message of 65 536 one-byte fragments is echoed whole", () =>
    exchange(port, {
      send: oneByteEach(FRAGMENTS),
      replies: [serverFrame(Opcode.Binary, payload.subarray(0, FRAGMENTS))],
    }));

  await t.step(
    "a message of 65 537 fragments closes with 1008",
    () =>
      exchange(port, { send: oneByteEach(FRAGMENTS + 1), closeCode: CloseCode.PolicyViolation }),
  );
});
