/**
 * Conformance, delivery and the opening handshake. Autobahn chops frames into octets within its
 * other categories; here it is a category of its own (D.x): TCP may cut the bytes anywhere —
 * between frames, inside a header, inside a mask, inside a UTF-8 sequence, inside the request —
 * or join a request and frames into one segment, and the server must answer the same. H.x checks
 * the HTTP side of the handshake (RFC 6455 §4.2): what is refused, with which status.
 */

import { assertEquals, assertMatch } from "@std/assert";
import { CloseCode, Opcode } from "../../mod.ts";
import {
  bytesOf,
  bytewise,
  closePayload,
  concat,
  frame,
  patterned,
  splits,
} from "../helpers/frames.ts";
import {
  HANDSHAKE_ACCEPT,
  HANDSHAKE_KEY,
  RawClient,
  upgradeRequest,
} from "../helpers/raw_client.ts";
import { testCli } from "../helpers/server.ts";
import {
  closeHandshake,
  exchange,
  expectClose,
  expectCloseEcho,
  expectEcho,
  openClient,
  readWithin,
  REPLY_TIMEOUT_MS,
  serverFrame,
} from "./support.ts";

const encoder = new TextEncoder();

/**
 * Frames that put every kind of boundary within a few bytes: a fragment ending inside a UTF-8
 * sequence, a ping between fragments, and a frame with a 16-bit length; and the server's replies.
 */
const SEQUENCE = concat(
  frame(Opcode.Text, bytesOf("κό").subarray(0, 3), { fin: false }),
  frame(Opcode.Ping, "ping"),
  frame(Opcode.Continuation, bytesOf("κόσμε!").subarray(3)),
  frame(Opcode.Binary, patterned(130)),
);
const SEQUENCE_REPLIES = [
  serverFrame(Opcode.Pong, "ping"),
  serverFrame(Opcode.Text, "κόσμε!"),
  serverFrame(Opcode.Binary, patterned(130)),
];

/** Asserts a response head is a 101 that accepts {@linkcode HANDSHAKE_KEY}. */
function assertAccepted(head: string): void {
  const { status, headers } = parseResponse(head);
  assertEquals(status, 101, head);
  assertEquals(headers.get("upgrade")?.toLowerCase(), "websocket");
  assertEquals(headers.get("connection")?.toLowerCase(), "upgrade");
  assertEquals(headers.get("sec-websocket-accept"), HANDSHAKE_ACCEPT);
}

/** An HTTP response: status, header fields, and body. */
interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
}

function parseResponse(text: string): HttpResponse {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...fieldLines] = text.slice(0, end === -1 ? text.length : end).split("\r\n");
  const headers = new Headers();
  for (const line of fieldLines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
  return { status: Number(status ?? NaN), headers, body: end === -1 ? "" : text.slice(end + 4) };
}

/**
 * Sends `request` on a new connection and reads the response to the end of TCP, which must come
 * within {@linkcode REPLY_TIMEOUT_MS}.
 */
async function httpExchange(port: number, request: string): Promise<HttpResponse> {
  await using client = await RawClient.connect(port);
  await client.write(encoder.encode(request));
  const { result, timedOut } = await readWithin(client, () => client.readAll());
  if (timedOut || result === undefined) {
    throw new Error(`the server did not end TCP within ${REPLY_TIMEOUT_MS} ms`);
  }
  return parseResponse(result);
}

/** The fields of a valid upgrade request; a case leaves one out by setting it to undefined. */
const UPGRADE_FIELDS: Record<string, string | undefined> = {
  Host: "127.0.0.1",
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": HANDSHAKE_KEY,
  "Sec-WebSocket-Version": "13",
};

function httpRequest(requestLine: string, fields: Record<string, string | undefined>): string {
  const lines = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return `${requestLine}\r\n${lines.join("")}\r\n`;
}

/** The CLI's limit on a request head (the default of `maxHeaderBytes`). */
const MAX_HEAD_BYTES = 16 * 1024;

/** A valid upgrade request padded with an extra field to exactly `length` bytes. */
function paddedRequest(length: number): string {
  const unpadded = httpRequest("GET / HTTP/1.1", { ...UPGRADE_FIELDS, "X-Padding": "" });
  return httpRequest("GET / HTTP/1.1", {
    ...UPGRADE_FIELDS,
    "X-Padding": "p".repeat(length - unpadded.length),
  });
}

/** The CLI's limit on header fields (the default of `maxHeaderCount`). */
const MAX_HEADER_COUNT = 100;

/** A valid upgrade request with filler fields up to `count` header fields in all. */
function requestWithFields(count: number): string {
  const fields = { ...UPGRADE_FIELDS };
  const filler = count - Object.keys(fields).length;
  for (let i = 0; i < filler; i++) fields[`X-Filler-${i}`] = String(i);
  return httpRequest("GET / HTTP/1.1", fields);
}

testCli("conformance: delivery and handshake (D.x, H.x)", async ({ port }, t) => {
  await t.step("D.1.1 frames in the same write as the request are answered", async () => {
    await using client = await openClient(
      port,
      concat(frame(Opcode.Text, "first"), frame(Opcode.Binary, [1, 2, 3])),
    );
    await expectEcho(client, Opcode.Text, "first");
    await expectEcho(client, Opcode.Binary, [1, 2, 3]);
    await closeHandshake(client);
  });

  await t.step(
    "D.1.2 a message and a close in the same write as the request: echo, then the close",
    async () => {
      const payload = closePayload(1000, "bye");
      await using client = await openClient(
        port,
        concat(frame(Opcode.Text, "first"), frame(Opcode.Close, payload)),
      );
      await expectEcho(client, Opcode.Text, "first");
      await expectCloseEcho(client, payload);
    },
  );

  await t.step(
    "D.1.3 a broken frame in the same write as the request: 101, then 1002",
    async () => {
      await using client = await openClient(port, frame(Opcode.Text, "bits", { rsv: 4 }));
      await expectClose(client, CloseCode.ProtocolError);
    },
  );

  await t.step("D.2 many frames of every length encoding in one write are echoed in order", () => {
    const messages = [
      { opcode: Opcode.Text, payload: bytesOf("short") },
      { opcode: Opcode.Binary, payload: patterned(126) },
      { opcode: Opcode.Text, payload: bytesOf("x".repeat(65536)) },
      { opcode: Opcode.Binary, payload: new Uint8Array() },
      { opcode: Opcode.Text, payload: bytesOf("κόσμε") },
    ];
    return exchange(port, {
      send: messages.map(({ opcode, payload }) => frame(opcode, payload)),
      replies: messages.map(({ opcode, payload }) => serverFrame(opcode, payload)),
    });
  });

  await t.step(
    "D.3 frames written one byte at a time are answered: a split UTF-8 fragment, a ping, a " +
      "16-bit length",
    () => exchange(port, { send: [SEQUENCE], chops: "byte by byte", replies: SEQUENCE_REPLIES }),
  );

  await t.step(
    `D.4 the same frames cut in two at each of the ${SEQUENCE.length + 1} possible places are ` +
      `answered the same`,
    async () => {
      for (const [cut, pieces] of [...splits(SEQUENCE)].entries()) {
        try {
          await exchange(port, {
            send: pieces,
            chops: "frame by frame",
            replies: SEQUENCE_REPLIES,
          });
        } catch (error) {
          throw new Error(`cut at byte ${cut}: ${error}`, { cause: error });
        }
      }
    },
  );

  const requestThenFrame = concat(upgradeRequest(), frame(Opcode.Text, "κόσμε"));
  await t.step(
    `D.5 a request and a frame cut in two at each of the ${requestThenFrame.length + 1} ` +
      `possible places: 101, then the echo`,
    async () => {
      for (const [cut, pieces] of [...splits(requestThenFrame)].entries()) {
        try {
          await using client = await RawClient.connect(port);
          client.conn.setNoDelay(true);
          await client.writePieces(pieces, 1);
          assertAccepted(await client.readResponseHead());
          await expectEcho(client, Opcode.Text, "κόσμε");
          await closeHandshake(client);
        } catch (error) {
          throw new Error(`cut at byte ${cut}: ${error}`, { cause: error });
        }
      }
    },
  );

  await t.step("D.6 a request written one byte at a time is accepted", async () => {
    await using client = await RawClient.connect(port);
    client.conn.setNoDelay(true);
    await client.writePieces(bytewise(upgradeRequest()), 1);
    assertAccepted(await client.readResponseHead());
    await client.write(frame(Opcode.Text, "after a slow handshake"));
    await expectEcho(client, Opcode.Text, "after a slow handshake");
    await closeHandshake(client);
  });

  await t.step(
    "D.7 connections stalled inside a request and inside a frame hold up neither another " +
      "connection nor their own completion",
    async () => {
      const request = upgradeRequest();
      const stalledFrame = frame(Opcode.Text, "finished at last");
      await using inRequest = await RawClient.connect(port);
      await inRequest.write(request.subarray(0, 20));
      await using inFrame = await openClient(port);
      await inFrame.write(stalledFrame.subarray(0, 8));
      await exchange(port, {
        send: [frame(Opcode.Text, "meanwhile")],
        replies: [serverFrame(Opcode.Text, "meanwhile")],
      });
      await inFrame.write(stalledFrame.subarray(8));
      await expectEcho(inFrame, Opcode.Text, "finished at last");
      await closeHandshake(inFrame);
      await inRequest.write(request.subarray(20));
      assertAccepted(await inRequest.readResponseHead());
      await closeHandshake(inRequest);
    },
  );

  const acceptances = [
    {
      id: "H.1.1",
      name: "a valid request",
      request: httpRequest("GET / HTTP/1.1", UPGRADE_FIELDS),
    },
    {
      id: "H.1.2",
      name: "a request with other cases and token lists (Upgrade: WebSocket, " +
        "Connection: keep-alive, Upgrade)",
      request: httpRequest("GET /chat?room=1 HTTP/1.1", {
        ...UPGRADE_FIELDS,
        Upgrade: "WebSocket",
        Connection: "keep-alive, Upgrade",
      }),
    },
    {
      id: "H.1.3",
      name: "a request head of exactly 16 KiB (the limit)",
      request: paddedRequest(MAX_HEAD_BYTES),
    },
    {
      id: "H.1.4",
      name: "a request of 100 header fields (the limit)",
      request: requestWithFields(MAX_HEADER_COUNT),
    },
  ];
  for (const { id, name, request } of acceptances) {
    await t.step(`${id} ${name} gets 101 with the accept key of RFC 6455 §1.3`, async () => {
      await using client = await RawClient.connect(port);
      await client.write(encoder.encode(request));
      assertAccepted(await client.readResponseHead());
      await client.write(frame(Opcode.Text, id));
      await expectEcho(client, Opcode.Text, id);
      await closeHandshake(client);
    });
  }

  const refusals: {
    id: string;
    name: string;
    request: string;
    status: number;
    /** A header field the response must have, and a pattern its value must match. */
    field?: [string, RegExp];
  }[] = [
    {
      id: "H.2.1",
      name: "an upgrade request without Upgrade",
      request: httpRequest("GET / HTTP/1.1", { ...UPGRADE_FIELDS, Upgrade: undefined }),
      status: 400,
    },
    {
      id: "H.2.2",
      name: "an upgrade request without Connection",
      request: httpRequest("GET / HTTP/1.1", { ...UPGRADE_FIELDS, Connection: undefined }),
      status: 400,
    },
    {
      id: "H.2.3",
      name: "an upgrade request without Host",
      request: httpRequest("GET / HTTP/1.1", { ...UPGRADE_FIELDS, Host: undefined }),
      status: 400,
    },
    {
      id: "H.2.4",
      name: "an upgrade request without Sec-WebSocket-Key",
      request: httpRequest("GET / HTTP/1.1", {
        ...UPGRADE_FIELDS,
        "Sec-WebSocket-Key": undefined,
      }),
      status: 400,
    },
    {
      id: "H.2.5",
      name: "an upgrade request whose key is not 16 bytes",
      request: httpRequest("GET / HTTP/1.1", {
        ...UPGRADE_FIELDS,
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZQ==",
      }),
      status: 400,
    },
    {
      id: "H.2.6",
      name: "an upgrade request over HTTP/1.0",
      request: httpRequest("GET / HTTP/1.0", UPGRADE_FIELDS),
      status: 400,
    },
    {
      id: "H.2.7",
      name: "an upgrade request for version 8",
      request: httpRequest("GET / HTTP/1.1", { ...UPGRADE_FIELDS, "Sec-WebSocket-Version": "8" }),
      status: 426,
      field: ["Sec-WebSocket-Version", /^13$/],
    },
    {
      id: "H.2.8",
      name: "a POST with the upgrade fields",
      request: httpRequest("POST / HTTP/1.1", UPGRADE_FIELDS),
      status: 405,
      field: ["Allow", /\bGET\b/],
    },
    {
      id: "H.2.9",
      name: "a plain GET / with Connection: close",
      request: httpRequest("GET / HTTP/1.1", { Host: "127.0.0.1", Connection: "close" }),
      status: 200,
      field: ["Content-Type", /^text\/html\b/],
    },
    {
      id: "H.2.10",
      name: "a plain GET /other with Connection: close",
      request: httpRequest("GET /other HTTP/1.1", { Host: "127.0.0.1", Connection: "close" }),
      status: 404,
    },
    {
      id: "H.2.11",
      name: "a garbage request line",
      request: httpRequest("NOT A REQUEST", { Host: "127.0.0.1" }),
      status: 400,
    },
    {
      id: "H.2.12",
      name: "a request line without a version",
      request: httpRequest("GET /", { Host: "127.0.0.1" }),
      status: 400,
    },
    {
      id: "H.2.13",
      name: "a request head of 16 KiB + 1 byte",
      request: paddedRequest(MAX_HEAD_BYTES + 1),
      status: 431,
    },
    {
      id: "H.2.14",
      name: "a request of 101 header fields (the flood of CVE-2024-37890, in small)",
      request: requestWithFields(MAX_HEADER_COUNT + 1),
      status: 431,
    },
  ];
  for (const { id, name, request, status, field } of refusals) {
    await t.step(
      `${id} ${name} gets ${status}${field ? ` with ${field[0]}` : ""}, then the end of TCP`,
      async () => {
        const response = await httpExchange(port, request);
        assertEquals(response.status, status, `status of: ${response.body}`);
        assertEquals(response.headers.get("connection"), "close");
        assertEquals(
          Number(response.headers.get("content-length")),
          encoder.encode(response.body).length,
          "Content-Length is the body's length",
        );
        if (field) assertMatch(response.headers.get(field[0]) ?? "(missing)", field[1]);
      },
    );
  }
});
