/**
 * permessage-deflate (RFC 7692) over loopback TCP: the negotiation and the data path as a raw
 * client sees them, byte by byte; the failures and their close codes, an inflate bomb against a
 * server process on every runtime among them; the cap on compressing connections; and
 * `connect()` with deflate against our server, the CLI, `Bun.serve`, `ws`, and raw servers
 * that answer the offer wrongly.
 */

import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertLess,
  assertRejects,
} from "@std/assert";
import { constants, deflateRawSync } from "node:zlib";
// @ts-types="@types/ws"
import { WebSocketServer } from "ws";
import {
  CloseCode,
  connect,
  type DeflateOptions,
  type Frame,
  HandshakeError,
  type Message,
  Opcode,
  UpgradeFailedError,
  type WebSocketConnection,
} from "../mod.ts";
import { RSV1 } from "../src/protocol/frame.ts";
import { startBunPeer } from "./helpers/bun_peer.ts";
import { firstDifference, patternBytes, withTimeout } from "./helpers/client.ts";
import { compress, FLUSH_TAIL, inflate } from "./helpers/deflate.ts";
import { bytesOf, concat, frame, letters } from "./helpers/frames.ts";
import {
  parseResponseHead,
  RawClient,
  requestUpgrade,
  upgradeRequest,
} from "./helpers/raw_client.ts";
import { RawServer, switchingProtocols } from "./helpers/raw_server.ts";
import { startServer, testCli, testConfigured } from "./helpers/server.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const echo = (message: Message) => message;
const decoder = new TextDecoder();

/**
 * Chrome's offer: permessage-deflate, letting the server limit the client's window. `connect()`
 * offers the same with the defaults.
 */
const CHROME_OFFER = "permessage-deflate; client_max_window_bits";
/**
 * Our server's answer to it with the defaults: no context kept by the server, and windows of 15
 * bits both ways, the client's named.
 */
const AGREED = "permessage-deflate; server_no_context_takeover; client_max_window_bits=15";
/** The settings that limit both windows to 12 bits. */
const WINDOWS_12 = { serverMaxWindowBits: 12, clientMaxWindowBits: 12 };
/** What a client offers with {@linkcode WINDOWS_12}; python-websockets' offer too. */
const WINDOWS_12_OFFER = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12";
/** Our server's answer to Chrome's offer with {@linkcode WINDOWS_12}. */
const AGREED_12 = "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; " +
  "client_max_window_bits=12";
/** The default threshold: shorter messages are sent uncompressed. */
const THRESHOLD = 1024;

/** RFC 7692 §7.2.3.1: "Hello" compressed, without the flush's tail. */
const HELLO_COMPRESSED = new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);

/** The header line that offers `offer`, for a raw request. */
function offering(offer = CHROME_OFFER): string {
  return `Sec-WebSocket-Extensions: ${offer}\r\n`;
}

/** The `Sec-WebSocket-Extensions` of a raw client's 101, or null. */
function agreedExtensions(client: RawClient): string | null {
  return parseResponseHead(client.responseHead).headers.get("sec-websocket-extensions");
}

/** A raw client that completed a handshake offering `offer` (none if null). */
function openOffering(port: number, offer: string | null = CHROME_OFFER): Promise<RawClient> {
  return RawClient.open(port, new Uint8Array(), offer === null ? "" : offering(offer));
}

/** The next frame, which must be a data frame of `opcode`. */
async function nextData(client: RawClient, opcode: Opcode, timeoutMs?: number): Promise<Frame> {
  const next = await client.nextFrame(timeoutMs);
  if (next === null) throw new Error("TCP ended instead of a data frame");
  assertEquals(next.opcode, opcode);
  return next;
}

/** Checks that the server at `port` agrees deflate with a new client and echoes RFC 7692's "Hello". */
async function assertServesCompressed(port: number): Promise<void> {
  await using client = await openOffering(port);
  assertEquals(agreedExtensions(client), AGREED);
  await client.write(frame(Opcode.Text, HELLO_COMPRESSED, { rsv: RSV1 }));
  assertEquals(decoder.decode((await nextData(client, Opcode.Text)).payload), "Hello");
}

// Negotiation on the wire.

Deno.test("deflate: Chrome's offer gets no server context and windows of 15 in the 101, and the connection's extensions", async () => {
  const opened = Promise.withResolvers<WebSocketConnection>();
  await using server = startServer({ deflate: true, onOpen: opened.resolve }, echo);
  await using client = await openOffering(server.port);
  assert(
    client.responseHead.includes(`\r\nSec-WebSocket-Extensions: ${AGREED}\r\n`),
    client.responseHead,
  );
  assertEquals((await withTimeout(opened.promise, "onOpen")).extensions, AGREED);
});

Deno.test("deflate: Chrome's offer gets windows of 12 in the 101 when the server limits them", async () => {
  const opened = Promise.withResolvers<WebSocketConnection>();
  await using server = startServer({ deflate: WINDOWS_12, onOpen: opened.resolve }, echo);
  await using client = await openOffering(server.port);
  assertEquals(agreedExtensions(client), AGREED_12);
  assertEquals((await withTimeout(opened.promise, "onOpen")).extensions, AGREED_12);
  // Compressed both ways.
  await client.write(frame(Opcode.Text, compress(letters(4 * KiB)), { rsv: RSV1 }));
  const reply = await nextData(client, Opcode.Text);
  assertEquals(reply.rsv, RSV1);
  assertEquals(decoder.decode(inflate(reply.payload)), letters(4 * KiB));
});

Deno.test("deflate: off, the same offer gets a 101 without Sec-WebSocket-Extensions", async () => {
  const opened = Promise.withResolvers<WebSocketConnection>();
  await using server = startServer({ onOpen: opened.resolve }, echo);
  await using client = await openOffering(server.port);
  assert(!/sec-websocket-extensions/i.test(client.responseHead), client.responseHead);
  assertEquals((await withTimeout(opened.promise, "onOpen")).extensions, "");
});

Deno.test("deflate: a malformed Sec-WebSocket-Extensions gets 400", async () => {
  await using server = startServer({ deflate: true }, echo);
  for (const field of ["permessage-deflate; =1", "permessage-deflate;", "permessage-deflate x"]) {
    const response = await requestUpgrade(server.port, offering(field));
    assertEquals(response.status, 400, field);
    assert(response.body.startsWith("invalid Sec-WebSocket-Extensions"), response.body);
  }
  await assertServesCompressed(server.port);
});

Deno.test("deflate: without deflate, a malformed Sec-WebSocket-Extensions is not read: 101", async () => {
  await using server = startServer({}, echo);
  for (const field of ["permessage-deflate; =1", "permessage-deflate;", 'x-foo; a="b c"']) {
    const response = await requestUpgrade(server.port, offering(field));
    assertEquals(response.status, 101, field);
    assertEquals(response.headers.get("sec-websocket-extensions"), null, field);
  }
});

Deno.test("deflate: offers with only parameters it cannot accept get a 101 without the field", async () => {
  const extensions: string[] = [];
  await using server = startServer({
    deflate: true,
    onOpen: (connection) => void extensions.push(connection.extensions),
  }, echo);
  const offers = [
    "permessage-deflate; server_max_window_bits=8",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; mux",
    "permessage-deflate; client_max_window_bits; client_max_window_bits",
    "x-webkit-deflate-frame",
  ];
  for (const offer of offers) {
    await using client = await openOffering(server.port, offer);
    assertEquals(agreedExtensions(client), null, offer);
    // It works, uncompressed.
    await client.write(frame(Opcode.Text, letters(THRESHOLD)));
    const reply = await nextData(client, Opcode.Text);
    assertEquals([reply.rsv, decoder.decode(reply.payload)], [0, letters(THRESHOLD)]);
  }
  assertEquals(extensions, offers.map(() => ""));
  // The first acceptable offer of several is the one taken.
  await using client = await openOffering(
    server.port,
    "permessage-deflate; server_max_window_bits=8, permessage-deflate",
  );
  assertEquals(agreedExtensions(client), "permessage-deflate; server_no_context_takeover");
});

// The data path on the wire.

Deno.test("deflate: RFC 7692's compressed Hello is inflated, also split over fragments", async () => {
  await using server = startServer({ deflate: true }, echo);
  await using client = await openOffering(server.port);
  await client.write(frame(Opcode.Text, HELLO_COMPRESSED, { rsv: RSV1 }));
  const hello = await nextData(client, Opcode.Text);
  // Below the threshold, the reply goes uncompressed.
  assertEquals([hello.rsv, decoder.decode(hello.payload)], [0, "Hello"]);

  // zlib's compression of a longer message, in fragments with RSV1 on the first only.
  const text = `${letters(3000)} ${"ünïcødé ✓ ".repeat(100)}`;
  const compressed = compress(text);
  const cuts = [0, 1, 10, compressed.length >> 1, compressed.length];
  const pieces = cuts.slice(1).map((end, i) => compressed.subarray(cuts[i], end));
  await client.write(concat(
    ...pieces.map((piece, i) =>
      frame(i === 0 ? Opcode.Text : Opcode.Continuation, piece, {
        fin: i === pieces.length - 1,
        rsv: i === 0 ? RSV1 : 0,
      })
    ),
  ));
  const reply = await nextData(client, Opcode.Text);
  assertEquals(reply.rsv, RSV1);
  assertEquals(decoder.decode(inflate(reply.payload)), text);
});

Deno.test("deflate: replies of at least the threshold are compressed, with RSV1; shorter ones are not", async () => {
  await using server = startServer({ deflate: true }, echo);
  await using client = await openOffering(server.port);
  for (const length of [THRESHOLD - 1, THRESHOLD, 64 * KiB]) {
    const message = letters(length);
    await client.write(frame(Opcode.Text, compress(message), { rsv: RSV1 }));
    const reply = await nextData(client, Opcode.Text);
    if (length < THRESHOLD) {
      assertEquals([reply.rsv, decoder.decode(reply.payload)], [0, message]);
    } else {
      assertEquals(reply.rsv, RSV1, `${length} bytes`);
      assertLess(reply.payload.length, length / 4);
    }
  }
  // Binary too, sent uncompressed by the client: each direction decides for itself.
  const bytes = new Uint8Array(10 * KiB).fill(7);
  await client.write(frame(Opcode.Binary, bytes));
  const reply = await nextData(client, Opcode.Binary);
  assertEquals(reply.rsv, RSV1);
  assertLess(reply.payload.length, 100);
});

Deno.test("deflate: replies compressed across messages, as each 3 KB one repeats the last", async () => {
  await using server = startServer({ deflate: { serverNoContextTakeover: false } }, echo);
  await using client = await openOffering(server.port);
  assertEquals(agreedExtensions(client), "permessage-deflate; client_max_window_bits=15");
  // Random bytes do not compress on their own; within the window they refer back.
  const message = patternBytes(3000);
  const replies: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    await client.write(frame(Opcode.Binary, message));
    const reply = await nextData(client, Opcode.Binary);
    assertEquals(reply.rsv, RSV1);
    replies.push(reply.payload);
  }
  assertGreater(replies[0].length, 2900);
  assertLess(replies[1].length, 100);
  assertLess(replies[2].length, 100);
  assertEquals(firstDifference(inflate(...replies), concat(message, message, message)), -1);
});

Deno.test("deflate: with serverNoContextTakeover, each reply is compressed on its own", async () => {
  await using server = startServer({ deflate: { serverNoContextTakeover: true } }, echo);
  await using client = await openOffering(server.port);
  assertEquals(
    agreedExtensions(client),
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
  );
  const message = patternBytes(3000);
  const replies: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    await client.write(frame(Opcode.Binary, message));
    replies.push((await nextData(client, Opcode.Binary)).payload);
  }
  assertGreater(replies[1].length, 2900);
  assertEquals(replies[1], replies[0]);
  for (const reply of replies) assertEquals(firstDifference(inflate(reply), message), -1);
});

// Failures, each with its close code, and the server serving the next client.

const helloStart = HELLO_COMPRESSED.subarray(0, 3);
const helloEnd = HELLO_COMPRESSED.subarray(3);
/** A name, what the client offers (null for nothing), the bytes it sends, and the close code. */
const FAILURES: [string, string | null, Uint8Array, number][] = [
  [
    "RSV1 on a continuation frame",
    CHROME_OFFER,
    concat(
      frame(Opcode.Text, helloStart, { fin: false, rsv: RSV1 }),
      frame(Opcode.Continuation, helloEnd, { rsv: RSV1 }),
    ),
    CloseCode.ProtocolError,
  ],
  [
    "RSV1 on a ping",
    CHROME_OFFER,
    frame(Opcode.Ping, "hi", { rsv: RSV1 }),
    CloseCode.ProtocolError,
  ],
  [
    "RSV1 when deflate was not agreed",
    null,
    frame(Opcode.Text, HELLO_COMPRESSED, { rsv: RSV1 }),
    CloseCode.ProtocolError,
  ],
  [
    "invalid compressed data",
    CHROME_OFFER,
    // BTYPE 11: a reserved block type.
    frame(Opcode.Text, [0xff, 0xff, 0xff], { rsv: RSV1 }),
    CloseCode.InvalidPayload,
  ],
  [
    "compressed text that inflates to invalid UTF-8",
    CHROME_OFFER,
    frame(Opcode.Text, compress([0x48, 0xc3, 0x28]), { rsv: RSV1 }),
    CloseCode.InvalidPayload,
  ],
];

for (const [name, offer, bytes, code] of FAILURES) {
  Deno.test(`deflate: ${name} closes with ${code}, and the server serves the next client`, async () => {
    await using server = startServer({ deflate: true }, echo);
    {
      await using client = await openOffering(server.port, offer);
      await client.write(bytes);
      const ending = await client.ending();
      assertEquals(ending.close?.code, code);
      assert(ending.tcpClosed);
    }
    await assertServesCompressed(server.port);
  });
}

/** The inflate bomb's size once inflated. */
const BOMB_INFLATED_BYTES = 1024 * MiB;
/** The server's limit against the bomb: far under its inflated size. */
const BOMB_LIMIT_BYTES = 16 * MiB;

/**
 * A compressed message of zeros that inflates to {@linkcode BOMB_INFLATED_BYTES}: 1 MiB of zeros
 * compressed once (about 1 KiB), repeated. Each piece ends with a sync flush and refers only to
 * itself, so the repeats make one valid DEFLATE stream without 1 GiB ever being in memory here.
 */
function inflateBomb(): Uint8Array {
  const piece = deflateRawSync(new Uint8Array(MiB), { finishFlush: constants.Z_SYNC_FLUSH });
  const bomb = new Uint8Array(piece.length * (BOMB_INFLATED_BYTES / MiB));
  for (let offset = 0; offset < bomb.length; offset += piece.length) bomb.set(piece, offset);
  return bomb.subarray(0, bomb.length - FLUSH_TAIL.length);
}

testConfigured(
  "deflate: a 1 MiB message inflating to 1 GiB closes with 1009 at 16 MiB, quickly, memory bounded",
  { deflate: true, maxMessageBytes: BOMB_LIMIT_BYTES },
  "echo",
  async (server) => {
    const bomb = inflateBomb();
    assertLess(bomb.length, 2 * MiB);
    const before = await server.rssKiB();
    const started = performance.now();
    {
      await using client = await openOffering(server.port);
      await client.write(frame(Opcode.Binary, bomb, { rsv: RSV1 }));
      const ending = await client.ending(15_000);
      const elapsedMs = performance.now() - started;
      const grownKiB = (await server.peakRssKiB()) - before;
      assertLess(grownKiB, 64 * KiB, `the server's memory grew by ${grownKiB} KiB`);
      assertEquals(ending.close?.code, CloseCode.MessageTooBig);
      assertLess(elapsedMs, 10_000);
    }
    // The client answered no close frame: the server reports 1006, and its own error.
    assertEquals(await server.waitFor("closed"), {
      event: "closed",
      code: CloseCode.AbnormalClosure,
      reason: "",
      wasClean: false,
      error: "ProtocolError",
    });
    await assertServesCompressed(server.port);
  },
);

// The cap on compressing connections.

Deno.test("deflate: maxConnections 2: the third offering client goes uncompressed; a closed one frees its place", async () => {
  const closed = Promise.withResolvers<void>();
  await using server = startServer({
    deflate: { maxConnections: 2 },
    onClose: () => closed.resolve(),
  }, echo);
  await using first = await openOffering(server.port);
  await using second = await openOffering(server.port);
  await using third = await openOffering(server.port);
  assertEquals(
    [first, second, third].map(agreedExtensions),
    [AGREED, AGREED, null],
  );
  // The third works, uncompressed both ways.
  await third.write(frame(Opcode.Text, letters(4 * KiB)));
  const reply = await nextData(third, Opcode.Text);
  assertEquals([reply.rsv, decoder.decode(reply.payload)], [0, letters(4 * KiB)]);
  await second.write(frame(Opcode.Text, letters(4 * KiB)));
  assertEquals((await nextData(second, Opcode.Text)).rsv, RSV1);

  await first.write(frame(Opcode.Close, [0x03, 0xe8]));
  assertEquals((await first.ending()).close?.code, CloseCode.Normal);
  await withTimeout(closed.promise, "onClose of the first");
  await using fourth = await openOffering(server.port);
  assertEquals(agreedExtensions(fourth), AGREED);
  await using fifth = await openOffering(server.port);
  assertEquals(agreedExtensions(fifth), null);
});

Deno.test("deflate: upgrades refused by onUpgrade give their place back", async () => {
  await using server = startServer({
    deflate: { maxConnections: 2 },
    onUpgrade: (request) => {
      if (request.url.pathname === "/refuse") throw new HandshakeError(403, "no");
    },
  }, echo);
  for (let i = 0; i < 3; i++) {
    await using refused = await RawClient.connect(server.port);
    await refused.write(upgradeRequest("/refuse", offering()));
    const response = await withTimeout(refused.readAll(), "the refusal");
    assert(response.startsWith("HTTP/1.1 403 "), response);
  }
  await using first = await openOffering(server.port);
  await using second = await openOffering(server.port);
  assertEquals([first, second].map(agreedExtensions), [AGREED, AGREED]);
});

// connect() with deflate.

/** Text and binary messages, large and small, compressible and not. */
const MESSAGES: Message[] = Array.from({ length: 200 }, (_, i) => {
  const length = [0, 10, THRESHOLD - 1, THRESHOLD, 5000, 70_000][i % 6];
  return i % 4 === 3 ? patternBytes(length, i) : `${i} ${letters(length)}`;
});

/** Sends every message of {@linkcode MESSAGES} at once and checks the echoes, in order. */
async function assertEchoes(connection: WebSocketConnection): Promise<void> {
  for (const message of MESSAGES) connection.send(message);
  for (const [i, sent] of MESSAGES.entries()) {
    const received = await withTimeout(connection.receive(), `echo ${i}`, 10_000);
    if (typeof sent === "string") assertEquals(received, sent, `message ${i}`);
    else {
      if (typeof received === "string") throw new Error(`message ${i} came back as text`);
      assertEquals(firstDifference(received, sent), -1, `message ${i}`);
    }
  }
}

/** How many bytes {@linkcode MESSAGES} take uncompressed. */
const MESSAGES_BYTES = MESSAGES.reduce(
  (sum, message) => sum + (typeof message === "string" ? bytesOf(message) : message).length,
  0,
);

Deno.test("deflate: connect() with deflate echoes through our server, compressed both ways", async () => {
  const opened = Promise.withResolvers<WebSocketConnection>();
  await using server = startServer({ deflate: true, onOpen: opened.resolve }, echo);
  const connection = await connect(server.url(), { deflate: true });
  try {
    assertEquals(connection.extensions, AGREED);
    assertEquals((await withTimeout(opened.promise, "onOpen")).extensions, AGREED);
    await assertEchoes(connection);
    // The letters compress; only the random bytes cannot.
    const { bytesIn, bytesOut } = server.server.stats;
    assertLess(bytesIn, MESSAGES_BYTES / 2);
    assertLess(bytesOut, MESSAGES_BYTES / 2);
  } finally {
    await connection.close();
  }
});

testCli("deflate: connect() with deflate echoes through the CLI's --deflate", async (cli) => {
  const connection = await connect(`ws://127.0.0.1:${cli.port}/`, { deflate: true });
  try {
    assertEquals(connection.extensions, AGREED);
    await assertEchoes(connection);
  } finally {
    await connection.close();
  }
}, ["--deflate"]);

Deno.test("deflate: connect() with deflate to a server without it goes uncompressed", async () => {
  await using server = startServer({}, echo);
  const connection = await connect(server.url(), { deflate: true });
  try {
    assertEquals(connection.extensions, "");
    await assertEchoes(connection);
    assertGreater(server.server.stats.bytesIn, MESSAGES_BYTES);
  } finally {
    await connection.close();
  }
});

/** Checks that `connect()` with `deflate` agrees `extensions` with the server at `url`, and echoes. */
async function assertEchoesWith(url: string, deflate: DeflateOptions, extensions: string) {
  const connection = await connect(url, { deflate });
  try {
    assertEquals(connection.extensions, extensions);
    await assertEchoes(connection);
  } finally {
    await connection.close();
  }
}

Deno.test("deflate: connect() with deflate echoes through Bun.serve with perMessageDeflate", async () => {
  await using peer = await startBunPeer({ deflate: true });
  // The default offer does not limit the server's window, and is accepted, with no context
  // takeover either way.
  await assertEchoesWith(
    peer.url,
    {},
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
  );
  await peer.nextClose();
  // uWebSockets compresses with a window of 15 bits, so it declines an offer that limits the
  // server's window (RFC 7692 §7.1.2.1): the connection goes uncompressed.
  await assertEchoesWith(peer.url, { serverMaxWindowBits: 12 }, "");
  await peer.nextClose();
});

Deno.test("deflate: connect() with deflate echoes through ws's WebSocketServer with perMessageDeflate", async () => {
  const listening = Promise.withResolvers<void>();
  const server = new WebSocketServer(
    { host: "127.0.0.1", port: 0, perMessageDeflate: true },
    listening.resolve,
  );
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  try {
    await withTimeout(listening.promise, "ws listening");
    const { port } = server.address() as { port: number };
    // ws leaves out what it need not say: windows of 15 and context takeover.
    await assertEchoesWith(`ws://127.0.0.1:${port}/`, {}, "permessage-deflate");
    await assertEchoesWith(`ws://127.0.0.1:${port}/`, WINDOWS_12, WINDOWS_12_OFFER);
  } finally {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("deflate: connect() refuses a 101 whose Sec-WebSocket-Extensions does not answer its offer", async () => {
  // What `connect()` offers with each `deflate`, and answers that do not fit it.
  const answers: [deflate: true | DeflateOptions, offer: string, answer: string][] = [
    [true, CHROME_OFFER, "x-webkit-deflate-frame"],
    [true, CHROME_OFFER, "permessage-deflate, permessage-deflate"],
    [true, CHROME_OFFER, "permessage-deflate; client_max_window_bits=8; server_max_window_bits=12"],
    [true, CHROME_OFFER, "permessage-deflate; server_max_window_bits=12; mux"],
    [WINDOWS_12, WINDOWS_12_OFFER, "permessage-deflate; server_max_window_bits=15"],
    [WINDOWS_12, WINDOWS_12_OFFER, "permessage-deflate"],
    [
      WINDOWS_12,
      WINDOWS_12_OFFER,
      "permessage-deflate; server_max_window_bits=12; client_max_window_bits=13",
    ],
    [
      { serverNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover; client_max_window_bits",
      "permessage-deflate; client_max_window_bits=15",
    ],
    [true, CHROME_OFFER, "permessage-deflate; server_max_window_bits=12; client_max_window_bits"],
    [true, CHROME_OFFER, "permessage-deflate; =1"],
  ];
  await using server = new RawServer();
  for (const [deflate, offer, answer] of answers) {
    const accepted = server.accept((key) => switchingProtocols(key, offering(answer)));
    const error = await assertRejects(() => connect(server.url(), { deflate }));
    assertInstanceOf(error, UpgradeFailedError, answer);
    assertEquals(error.status, 101, answer);
    assertEquals(error.headers.get("sec-websocket-extensions"), answer);
    // What the client offered.
    assertEquals((await accepted).header("sec-websocket-extensions"), offer, answer);
  }
});
