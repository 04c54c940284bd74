/**
 * Conformance, fragmentation (Autobahn 5.x, RFC 6455 §5.4): a fragmented message is echoed whole,
 * control frames may come between its fragments and are answered at once, and a continuation
 * with no message begun or a new message inside an unfinished one fails the connection with
 * 1002. Fragmented pings and pongs (Autobahn 5.1, 5.2) are in pings_test.ts. Cases 5.21 and up
 * have no Autobahn counterpart.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { chunks, closePayload, fragments, frame, letters, patterned } from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import {
  type Chops,
  closeHandshake,
  exchange,
  expectBytes,
  openClient,
  piecesOf,
  serverFrame,
} from "./support.ts";

const [FRAGMENT_1, FRAGMENT_2] = fragments(Opcode.Text, ["fragment1", "fragment2"]);
const CONTINUATION = Opcode.Continuation;
const MiB = 1024n * 1024n;
const ALPHABET_1000 = letters(1000);

/**
 * Each case three ways, as Autobahn does — in one write, octet by octet, frame by frame — under
 * consecutive ids: 5.3–5.5, 5.6–5.8, 5.9–5.11, 5.12–5.14.
 */
const THREE_WAYS: Chops[] = ["one write", "byte by byte", "frame by frame"];

testCli("conformance: fragmentation (Autobahn 5.x)", async ({ port }, t) => {
  const threeWayCases = [
    {
      id: 3,
      name: "a text message in two fragments is echoed whole",
      send: [FRAGMENT_1, FRAGMENT_2],
      replies: [serverFrame(Opcode.Text, "fragment1fragment2")],
    },
    {
      id: 6,
      name: "a ping between two fragments is answered, then the message is echoed whole",
      send: [FRAGMENT_1, frame(Opcode.Ping, "ping payload"), FRAGMENT_2],
      replies: [
        serverFrame(Opcode.Pong, "ping payload"),
        serverFrame(Opcode.Text, "fragment1fragment2"),
      ],
    },
    {
      id: 9,
      name: "a final continuation with no message begun closes with 1002",
      send: [frame(CONTINUATION, "non-continuation payload"), frame(Opcode.Text, "Hello, world!")],
      closeCode: CloseCode.ProtocolError,
    },
    {
      id: 12,
      name: "a non-final continuation with no message begun closes with 1002",
      send: [
        frame(CONTINUATION, "non-continuation payload", { fin: false }),
        frame(Opcode.Text, "Hello, world!"),
      ],
      closeCode: CloseCode.ProtocolError,
    },
  ];
  for (const { id, name, send, replies, closeCode } of threeWayCases) {
    for (const [index, chops] of THREE_WAYS.entries()) {
      await t.step(
        `5.${id + index} ${name} (${chops})`,
        () => exchange(port, { send, chops, replies, closeCode }),
      );
    }
  }

  const violations = [
    {
      id: "5.15",
      name: "a message, then continuations with nothing to continue: the message is echoed, " +
        "then 1002",
      send: [
        FRAGMENT_1,
        FRAGMENT_2,
        frame(CONTINUATION, "fragment3", { fin: false }),
        frame(Opcode.Text, "fragment4"),
      ],
      replies: [serverFrame(Opcode.Text, "fragment1fragment2")],
    },
    {
      id: "5.16",
      name: "a continuation with nothing to continue before a fragmented message closes with 1002",
      send: [frame(CONTINUATION, "fragment1", { fin: false }), FRAGMENT_1, FRAGMENT_2],
      replies: [],
    },
    {
      id: "5.17",
      name: "a final continuation with nothing to continue before a fragmented message closes " +
        "with 1002",
      send: [frame(CONTINUATION, "fragment1"), FRAGMENT_1, FRAGMENT_2],
      replies: [],
    },
    {
      id: "5.18",
      name: "a new text frame inside an unfinished text message closes with 1002",
      send: [FRAGMENT_1, frame(Opcode.Text, "fragment2")],
      replies: [],
    },
    {
      id: "5.18.2",
      name: "a new binary frame inside an unfinished text message closes with 1002",
      send: [FRAGMENT_1, frame(Opcode.Binary, "fragment2")],
      replies: [],
    },
    {
      id: "5.18.3",
      name: "a new non-final text frame inside an unfinished binary message closes with 1002",
      send: [
        frame(Opcode.Binary, "fragment1", { fin: false }),
        frame(Opcode.Text, "fragment2", { fin: false }),
        frame(CONTINUATION, "fragment3"),
      ],
      replies: [],
    },
  ];
  for (const { id, name, send, replies } of violations) {
    await t.step(
      `${id} ${name}`,
      () => exchange(port, { send, replies, closeCode: CloseCode.ProtocolError }),
    );
  }

  const [one, two, three, four, five] = fragments(
    Opcode.Text,
    ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"],
  );
  const rounds = [
    {
      frames: [one, two, frame(Opcode.Ping, "pongme 1!")],
      reply: serverFrame(Opcode.Pong, "pongme 1!"),
    },
    {
      frames: [three, four, frame(Opcode.Ping, "pongme 2!")],
      reply: serverFrame(Opcode.Pong, "pongme 2!"),
    },
    {
      frames: [five],
      reply: serverFrame(Opcode.Text, "fragment1fragment2fragment3fragment4fragment5"),
    },
  ];
  for (const [id, chops] of [["5.19", "frame by frame"], ["5.20", "byte by byte"]] as const) {
    await t.step(
      `${id} a text message in five fragments with a ping after the second and the fourth ` +
        `(${chops}): each pong comes before the next fragment is sent, then the whole message`,
      async () => {
        await using client = await openClient(port);
        for (const { frames, reply } of rounds) {
          await client.writePieces(piecesOf(frames, chops), 1);
          await expectBytes(client, reply);
        }
        await closeHandshake(client);
      },
    );
  }

  const binary = patterned(65536);
  const wholeCases = [
    {
      id: "5.21",
      name: "a binary message in three fragments is echoed whole as binary",
      send: fragments(Opcode.Binary, [
        binary.subarray(0, 1),
        binary.subarray(1, 200),
        binary.subarray(200, 256),
      ]),
      replies: [serverFrame(Opcode.Binary, binary.subarray(0, 256))],
    },
    {
      id: "5.22",
      name: "a text message in 1000 one-byte fragments is echoed whole",
      send: fragments(Opcode.Text, [...ALPHABET_1000]),
      replies: [serverFrame(Opcode.Text, ALPHABET_1000)],
    },
    {
      id: "5.23",
      name: "empty fragments, first, between and last, add nothing to the message",
      send: fragments(Opcode.Text, ["", "Hello", "", "", ", world!", ""]),
      replies: [serverFrame(Opcode.Text, "Hello, world!")],
    },
    {
      id: "5.24",
      name: "a text message of only empty fragments is echoed as an empty text",
      send: fragments(Opcode.Text, ["", "", ""]),
      replies: [serverFrame(Opcode.Text, "")],
    },
    {
      id: "5.25",
      name: "a pong between fragments is ignored and the message echoed whole",
      send: [FRAGMENT_1, frame(Opcode.Pong, "unsolicited"), FRAGMENT_2],
      replies: [serverFrame(Opcode.Text, "fragment1fragment2")],
    },
    {
      id: "5.26",
      name: "two fragmented messages in a row, text then binary, are echoed as two messages",
      send: [FRAGMENT_1, FRAGMENT_2, ...fragments(Opcode.Binary, [[1, 2], [3], [4, 5]])],
      replies: [
        serverFrame(Opcode.Text, "fragment1fragment2"),
        serverFrame(Opcode.Binary, [1, 2, 3, 4, 5]),
      ],
    },
    {
      id: "5.27",
      name: "a 64 KiB binary message in 64 fragments with a ping after every 16th gets four " +
        "pongs, then the message whole",
      send: fragments(Opcode.Binary, chunks(binary, 1024)).flatMap((fragment, i) =>
        i % 16 === 15 ? [fragment, frame(Opcode.Ping, `ping ${i}`)] : [fragment]
      ),
      replies: [
        ...[15, 31, 47, 63].map((i) => serverFrame(Opcode.Pong, `ping ${i}`)),
        serverFrame(Opcode.Binary, binary),
      ],
    },
  ];
  for (const { id, name, send, replies } of wholeCases) {
    await t.step(`${id} ${name}`, () => exchange(port, { send, replies }));
  }

  await t.step(
    "5.28 a close between fragments is echoed and ends the connection; the unfinished " +
      "message is dropped",
    () => {
      const payload = closePayload(1000, "mid-message");
      return exchange(port, {
        send: [FRAGMENT_1, frame(Opcode.Close, payload), FRAGMENT_2],
        closeEcho: payload,
      });
    },
  );

  // Fail fast: these violations show in the frame header, so, like 1009 (limits_test.ts) and
  // 1007 (utf8_test.ts), the verdict need not wait for a payload that is never sent.
  const onHeader = [
    {
      id: "5.29",
      name: "a continuation declaring 1 MiB with no message begun",
      send: [frame(CONTINUATION, [], { declaredLength: MiB })],
    },
    {
      id: "5.30",
      name: "a binary frame declaring 1 MiB inside an unfinished text message",
      send: [FRAGMENT_1, frame(Opcode.Binary, [], { declaredLength: MiB })],
    },
  ];
  for (const { id, name, send } of onHeader) {
    await t.step(
      `${id} ${name} closes with 1002 on its header, before the payload is sent`,
      () => exchange(port, { send, chops: "frame by frame", closeCode: CloseCode.ProtocolError }),
    );
  }
});
