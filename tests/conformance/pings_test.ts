/**
 * Conformance, pings and pongs (Autobahn 2.x, and the fragmented control frames of 5.1 and 5.2):
 * every ping is answered by a pong with its payload (RFC 6455 §5.5.2), even in the middle of a
 * fragmented message; pongs nobody asked for are ignored (§5.5.3); a ping that is too long or
 * fragmented fails the connection with 1002 (§5.5). Cases 2.5.2 and 2.12 have no Autobahn
 * counterpart.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { concat, frame } from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import {
  type Chops,
  closeHandshake,
  exchange,
  expectEcho,
  expectPong,
  openClient,
  serverFrame,
} from "./support.ts";

testCli("conformance: pings (Autobahn 2.x)", async ({ port }, t) => {
  const pongCases: { id: string; name: string; payload: Uint8Array; chops: Chops }[] = [
    { id: "2.1", name: "an empty ping", payload: new Uint8Array(), chops: "one write" },
    {
      id: "2.2",
      name: "a ping with text",
      payload: new TextEncoder().encode("Hello, world!"),
      chops: "one write",
    },
    {
      id: "2.3",
      name: "a ping with binary",
      payload: new Uint8Array([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]),
      chops: "one write",
    },
    {
      id: "2.4",
      name: "a ping of 125 bytes",
      payload: new Uint8Array(125).fill(0xfe),
      chops: "one write",
    },
    {
      id: "2.6",
      name: "a ping of 125 bytes written byte by byte",
      payload: new Uint8Array(125).map((_, i) => i),
      chops: "byte by byte",
    },
  ];
  for (const { id, name, payload, chops } of pongCases) {
    await t.step(`${id} ${name} is answered by a pong with the same payload`, () =>
      exchange(port, {
        send: [frame(Opcode.Ping, payload)],
        chops,
        replies: [serverFrame(Opcode.Pong, payload)],
      }));
  }

  const tooLong = [
    {
      id: "2.5",
      name: "a ping of 126 bytes closes with 1002 and no pong",
      send: [frame(Opcode.Ping, new Uint8Array(126))],
    },
    {
      id: "2.5.2",
      name: "a ping declaring 126 bytes closes with 1002 on its header alone",
      send: [frame(Opcode.Ping, [], { declaredLength: 126n })],
    },
  ];
  for (const { id, name, send } of tooLong) {
    await t.step(
      `${id} ${name}`,
      () => exchange(port, { send, closeCode: CloseCode.ProtocolError }),
    );
  }

  const unsolicitedPongs = [
    { id: "2.7", name: "an unsolicited empty pong", payload: "" },
    { id: "2.8", name: "an unsolicited pong with a payload", payload: "unsolicited pong payload" },
  ];
  for (const { id, name, payload } of unsolicitedPongs) {
    await t.step(
      `${id} ${name} is ignored: the text after it is the next reply`,
      () =>
        exchange(port, {
          send: [frame(Opcode.Pong, payload), frame(Opcode.Text, "after the pong")],
          replies: [serverFrame(Opcode.Text, "after the pong")],
        }),
    );
  }

  await t.step(
    "2.9 an unsolicited pong then a ping: only the ping is answered",
    () =>
      exchange(port, {
        send: [frame(Opcode.Pong, "unsolicited"), frame(Opcode.Ping, "solicited")],
        replies: [serverFrame(Opcode.Pong, "solicited")],
      }),
  );

  const tenPings = Array.from({ length: 10 }, (_, i) => `ping ${i}`);
  for (const [id, chops] of [["2.10", "one write"], ["2.11", "frame by frame"]] as const) {
    await t.step(`${id} ten pings (${chops}) get ten pongs, in order`, () =>
      exchange(port, {
        send: tenPings.map((payload) => frame(Opcode.Ping, payload)),
        chops,
        replies: tenPings.map((payload) => serverFrame(Opcode.Pong, payload)),
      }));
  }

  const fragmentedControl = [
    { id: "5.1", name: "a ping", opcode: Opcode.Ping },
    { id: "5.2", name: "a pong", opcode: Opcode.Pong },
  ];
  for (const { id, name, opcode } of fragmentedControl) {
    await t.step(
      `${id} ${name} with FIN clear (fragmented) closes with 1002, answering neither it nor ` +
        `the ping after it`,
      () =>
        exchange(port, {
          send: [frame(opcode, "fragment", { fin: false }), frame(Opcode.Ping, "after")],
          closeCode: CloseCode.ProtocolError,
        }),
    );
  }

  await t.step(
    "2.12 a ping between the fragments of a message is answered before the message completes",
    async () => {
      await using client = await openClient(port);
      await client.write(
        concat(frame(Opcode.Text, "Hello, ", { fin: false }), frame(Opcode.Ping, "meanwhile")),
      );
      // The final fragment is not sent until the pong is in.
      await expectPong(client, "meanwhile");
      await client.write(frame(Opcode.Continuation, "world!"));
      await expectEcho(client, Opcode.Text, "Hello, world!");
      await closeHandshake(client);
    },
  );
});
