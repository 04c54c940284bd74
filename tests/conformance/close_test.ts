/**
 * Conformance, the close handshake (Autobahn 7.x, RFC 6455 §5.5.1, §7.4): a client's close is
 * echoed with its code and reason after the messages before it, nothing after it is answered,
 * and the server then ends TCP; a close frame with a code that may not be sent, a one-byte
 * payload, an over-long reason or a reason that is not UTF-8 fails the connection.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import {
  bytesOf,
  closePayload,
  concat,
  fragments,
  frame,
  INVALID_CLOSE_CODES,
  VALID_CLOSE_CODES,
} from "../helpers/frames.ts";
import { testCli } from "../helpers/server.ts";
import { type Chops, exchange, serverFrame } from "./support.ts";

const NORMAL = closePayload(1000);
const BIG_TEXT = "*".repeat(256 * 1024);

testCli("conformance: close (Autobahn 7.x)", async ({ port }, t) => {
  const ordering: {
    id: string;
    name: string;
    send: Uint8Array[];
    chops?: Chops;
    replies?: Uint8Array[];
  }[] = [
    {
      id: "7.1.1",
      name: "a text sent just before a close is echoed before the close reply",
      send: [frame(Opcode.Text, "Hello World!"), frame(Opcode.Close, NORMAL)],
      replies: [serverFrame(Opcode.Text, "Hello World!")],
    },
    {
      id: "7.1.2",
      name: "a second close is not answered",
      send: [frame(Opcode.Close, NORMAL), frame(Opcode.Close, closePayload(1001))],
    },
    {
      id: "7.1.3",
      name: "a ping after the close is not answered",
      send: [frame(Opcode.Close, NORMAL), frame(Opcode.Ping, "after close")],
    },
    {
      id: "7.1.4",
      name: "a text after the close is not echoed",
      send: [frame(Opcode.Close, NORMAL), frame(Opcode.Text, "after close")],
    },
    {
      id: "7.1.5",
      name: "a message completed after the close is not echoed",
      send: [
        frame(Opcode.Text, "fragment1", { fin: false }),
        frame(Opcode.Close, NORMAL),
        frame(Opcode.Continuation, "fragment2"),
      ],
    },
    {
      id: "7.1.6",
      name: "a 256 KiB text sent just before a close is echoed whole before the close reply",
      send: [frame(Opcode.Text, BIG_TEXT), frame(Opcode.Close, NORMAL)],
      replies: [serverFrame(Opcode.Text, BIG_TEXT)],
    },
    {
      id: "7.1.7",
      name: "broken frames after the close are ignored, not answered with 1002",
      send: [
        frame(Opcode.Close, NORMAL),
        frame(5, "reserved opcode"),
        frame(Opcode.Text, "unmasked", { mask: null }),
        frame(Opcode.Text, [0xc0, 0xaf]),
      ],
    },
    {
      id: "7.1.8",
      name: "data written after the close in later writes is ignored",
      send: [frame(Opcode.Close, NORMAL), frame(Opcode.Text, "late"), frame(Opcode.Ping, "late")],
      chops: "frame by frame",
    },
    {
      id: "7.1.9",
      name: "a ping just before the close is answered before the close reply",
      send: [frame(Opcode.Ping, "before close"), frame(Opcode.Close, NORMAL)],
      replies: [serverFrame(Opcode.Pong, "before close")],
    },
    {
      id: "7.1.10",
      name: "a close frame written byte by byte is echoed",
      send: [frame(Opcode.Close, NORMAL)],
      chops: "byte by byte",
    },
  ];
  for (const { id, name, send, chops, replies } of ordering) {
    await t.step(
      `${id} ${name}; the server echoes the close and ends TCP`,
      () => exchange(port, { send, chops, replies, closeEcho: NORMAL }),
    );
  }

  const echoedPayloads = [
    {
      id: "7.3.1",
      name: "an empty close is echoed as an empty close (the client sees 1005)",
      payload: new Uint8Array(),
    },
    {
      id: "7.3.3",
      name: "a close with code 1000 and no reason is echoed byte for byte",
      payload: closePayload(1000),
    },
    {
      id: "7.3.4",
      name: "a close with code 1000 and a reason is echoed byte for byte",
      payload: closePayload(1000, "Hello World!"),
    },
    {
      id: "7.3.5",
      name: "a close with a reason of 123 bytes, the most that fits, is echoed byte for byte",
      payload: closePayload(1000, "*".repeat(123)),
    },
    {
      id: "7.3.5.2",
      name: "a close with a multi-byte reason of 123 bytes is echoed byte for byte",
      payload: closePayload(1000, "κ".repeat(61) + "!"),
    },
  ];
  for (const { id, name, payload } of echoedPayloads) {
    await t.step(
      `${id} ${name} is echoed byte for byte`,
      () => exchange(port, { send: [frame(Opcode.Close, payload)], closeEcho: payload }),
    );
  }

  for (const [index, code] of VALID_CLOSE_CODES.entries()) {
    await t.step(`7.7.${index + 1} a close with code ${code} is echoed with the same code`, () => {
      const payload = closePayload(code, `code ${code}`);
      return exchange(port, { send: [frame(Opcode.Close, payload)], closeEcho: payload });
    });
  }

  for (const [index, code] of INVALID_CLOSE_CODES.entries()) {
    await t.step(
      `7.9.${index + 1} a close with code ${code} closes with 1002`,
      () =>
        exchange(port, {
          send: [frame(Opcode.Close, closePayload(code, "invalid"))],
          closeCode: CloseCode.ProtocolError,
        }),
    );
  }

  const brokenPayloads = [
    {
      id: "7.3.2",
      name: "a close payload of 1 byte",
      payload: bytesOf([0x03]),
      code: CloseCode.ProtocolError,
    },
    {
      id: "7.3.6",
      name: "a close reason of 124 bytes (a 126-byte control frame)",
      payload: closePayload(1000, "*".repeat(124)),
      code: CloseCode.ProtocolError,
    },
    {
      id: "7.5.1",
      name: "a close reason with a surrogate",
      payload: closePayload(1000, concat(bytesOf("κόσμε"), bytesOf([0xed, 0xa0, 0x80]))),
      code: CloseCode.InvalidPayload,
    },
    {
      id: "7.5.2",
      name: "a close reason with an overlong sequence",
      payload: closePayload(1000, bytesOf([0xc0, 0xaf])),
      code: CloseCode.InvalidPayload,
    },
    {
      id: "7.5.3",
      name: "a close reason ending inside a sequence",
      payload: closePayload(1000, bytesOf([0x61, 0xce])),
      code: CloseCode.InvalidPayload,
    },
    {
      id: "7.5.4",
      name: "a close reason with the byte 0xff",
      payload: closePayload(1000, bytesOf([0xff])),
      code: CloseCode.InvalidPayload,
    },
  ];
  for (const { id, name, payload, code } of brokenPayloads) {
    await t.step(
      `${id} ${name} closes with ${code}`,
      () => exchange(port, { send: [frame(Opcode.Close, payload)], closeCode: code }),
    );
  }

  await t.step(
    "7.5.5 an invalid close after a complete message: the message is echoed, then 1002",
    () =>
      exchange(port, {
        send: [...fragments(Opcode.Text, ["Hello, ", "world!"]), frame(Opcode.Close, [0x03])],
        replies: [serverFrame(Opcode.Text, "Hello, world!")],
        closeCode: CloseCode.ProtocolError,
      }),
  );
});
