/**
 * `connect()` over loopback TCP: against this library's own `serve()` (echo, order, closing from
 * either end, handlers, backpressure), and against a raw server that writes exact bytes (the
 * request the client sends, pings, masked frames, the end of TCP, every failed handshake).
 */

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import {
  type CloseInfo,
  connect,
  ConnectionClosedError,
  type ConnectOptions,
  type Message,
  Opcode,
  UpgradeFailedError,
  type WebSocketConnection,
} from "../mod.ts";
import { delay, firstDifference, patternBytes, withTimeout } from "./helpers/client.ts";
import { closePayload, concat, FIXED_MASK, frame } from "./helpers/frames.ts";
import { RawServer, switchingProtocols } from "./helpers/raw_server.ts";
import { startServer } from "./helpers/server.ts";

const MiB = 1024 * 1024;
const decoder = new TextDecoder();
const echo = (message: Message) => message;

/** An unmasked frame, as a server sends it. */
function serverFrame(opcode: number, payload: string | Uint8Array | number[] = []): Uint8Array {
  return frame(opcode, payload, { mask: null });
}

/** The next message, bounded in time. */
function next(connection: WebSocketConnection, timeoutMs?: number): Promise<Message> {
  return withTimeout(connection.receive(), "the next message", timeoutMs);
}

/** The next message, which must be binary. */
async function nextBytes(connection: WebSocketConnection, timeoutMs?: number): Promise<Uint8Array> {
  const message = await next(connection, timeoutMs);
  if (typeof message === "string") throw new Error(`text instead of binary: ${message}`);
  return message;
}

/** How the connection ended, bounded in time. */
function ended(connection: WebSocketConnection, timeoutMs?: number): Promise<CloseInfo> {
  return withTimeout(connection.closed, "the connection's end", timeoutMs);
}

/** Connects; `await using` closes the connection if it is open and waits for its end. */
async function open(
  url: string,
  options?: ConnectOptions,
): Promise<WebSocketConnection & AsyncDisposable> {
  const connection = await connect(url, options);
  return Object.assign(connection, {
    async [Symbol.asyncDispose]() {
      if (connection.state === "open") connection.close();
      await ended(connection);
    },
  });
}

/** A server hook for the first connection it opens. */
function firstConnection() {
  const { promise, resolve } = Promise.withResolvers<WebSocketConnection>();
  return { onOpen: resolve, connection: () => withTimeout(promise, "the server's onOpen") };
}

// Against our own server.

Deno.test("connect: echoes text messages of every length-field size", async () => {
  await using server = startServer({}, echo);
  await using connection = await open(server.url());
  const messages = ["", "hello", "héllo wörld ✓ 𝄞", "a".repeat(125), "b".repeat(126)];
  messages.push("c".repeat(65535), "d".repeat(65536));
  for (const message of messages) {
    await connection.send(message);
    assertEquals(await next(connection), message);
  }
});

Deno.test("connect: echoes binary messages byte for byte, 1 MiB included", async () => {
  await using server = startServer({}, echo);
  await using connection = await open(server.url());
  for (const length of [0, 1, 125, 126, 65535, 65536, MiB]) {
    const sent = patternBytes(length, length);
    await connection.send(sent);
    assertEquals(firstDifference(await nextBytes(connection, 10_000), sent), -1, `${length} B`);
  }
});

Deno.test("connect: many messages arrive in the order they were sent", async () => {
  await using server = startServer({}, echo);
  await using connection = await open(server.url());
  const count = 2000;
  for (let i = 0; i < count; i++) connection.send(i % 2 ? `${i}` : new Uint8Array([i & 0xff]));
  const received: Message[] = [];
  for (let i = 0; i < count; i++) received.push(await next(connection));
  const expected = Array.from(
    { length: count },
    (_, i) => i % 2 ? `${i}` : new Uint8Array([i & 0xff]),
  );
  assertEquals(received, expected);
});

Deno.test("connect: the client's close code and reason reach the server", async () => {
  const first = firstConnection();
  await using server = startServer({ onOpen: first.onOpen }, echo);
  const connection = await connect(server.url());
  const serverSide = await first.connection();
  const info = await withTimeout(connection.close(4000, "client says bye"), "the close");
  assertEquals(info, { code: 4000, reason: "client says bye", wasClean: true });
  assertEquals(await ended(serverSide), { code: 4000, reason: "client says bye", wasClean: true });
  assertEquals(connection.state, "closed");
});

Deno.test("connect: the server's close code and reason reach the client", async () => {
  const first = firstConnection();
  await using server = startServer({ onOpen: first.onOpen }, echo);
  const connection = await connect(server.url());
  const serverSide = await first.connection();
  serverSide.close(4001, "server says bye");
  assertEquals(await ended(connection), { code: 4001, reason: "server says bye", wasClean: true });
  assertEquals(await ended(serverSide), { code: 4001, reason: "server says bye", wasClean: true });
  await assertRejects(() => next(connection), ConnectionClosedError);
  await assertRejects(() => connection.send("late"), ConnectionClosedError);
});

Deno.test("connect: messages sent before the server's close are still received", async () => {
  const first = firstConnection();
  await using server = startServer({ onOpen: first.onOpen }, echo);
  const connection = await connect(server.url());
  const serverSide = await first.connection();
  serverSide.send("one");
  serverSide.send(new Uint8Array([2]));
  serverSide.close(1001, "going");
  // The close is echoed without waiting for the messages to be read.
  assertEquals((await ended(connection)).code, 1001);
  const received: Message[] = [];
  for await (const message of connection) received.push(message);
  assertEquals(received, ["one", new Uint8Array([2])]);
  await assertRejects(() => next(connection), ConnectionClosedError);
});

Deno.test("connect: a reader waiting when the connection ends is rejected", async () => {
  const first = firstConnection();
  await using server = startServer({ onOpen: first.onOpen }, echo);
  const connection = await connect(server.url());
  const waiting = connection.receive();
  (await first.connection()).close();
  await assertRejects(() => withTimeout(waiting, "the rejection"), ConnectionClosedError);
  await ended(connection);
});

Deno.test("connect: a handler gets each message and its replies go back", async () => {
  const heard: Message[] = [];
  const done = Promise.withResolvers<void>();
  await using server = startServer({
    onOpen: (connection) => connection.send("1"),
  }, (message) => {
    heard.push(message);
    if (Number(message) >= 6) return done.resolve();
    return `${Number(message) + 1}`;
  });
  const seen: Message[] = [];
  const owners: WebSocketConnection[] = [];
  await using connection = await open(server.url(), {
    handler: (message, own) => {
      seen.push(message);
      owners.push(own);
      return `${Number(message) + 1}`;
    },
  });
  await withTimeout(done.promise, "the exchange");
  assertEquals(seen, ["1", "3", "5"]);
  assertEquals(heard, ["2", "4", "6"]);
  assert(owners.every((own) => own === connection));
  const error = await assertRejects(() => connection.receive());
  assertInstanceOf(error, TypeError);
  assertThrows(() => connection[Symbol.asyncIterator](), TypeError);
});

Deno.test("connect: a handler that throws closes with 1011 and reaches onError", async () => {
  const first = firstConnection();
  await using server = startServer({ onOpen: first.onOpen }, echo);
  const reported = Promise.withResolvers<unknown>();
  const connection = await connect(server.url(), {
    handler: () => {
      throw new Error("client handler broke");
    },
    onError: reported.resolve,
  });
  const serverSide = await first.connection();
  await serverSide.send("boom");
  assertEquals(
    (await withTimeout(reported.promise, "onError") as Error).message,
    "client handler broke",
  );
  assertEquals((await ended(serverSide)).code, 1011);
  assertEquals((await ended(connection)).code, 1011);
});

Deno.test("connect: the connection tells its URL, request headers, protocol and peer", async () => {
  await using server = startServer({}, echo);
  const url = server.url("/room?id=7");
  await using connection = await open(url, { headers: { "X-Token": "t1" } });
  assertEquals(connection.url.href, url);
  assertEquals(connection.headers.get("x-token"), "t1");
  assertEquals(connection.headers.get("host"), `127.0.0.1:${server.port}`);
  assertEquals(connection.headers.get("sec-websocket-key")?.length, 24);
  // Our server chooses no subprotocol.
  assertEquals(connection.protocol, "");
  assertEquals(connection.remoteAddr.port, server.port);
  assertEquals(connection.state, "open");
  assertEquals(connection.bufferedAmount, 0);
});

Deno.test("connect: stops reading while 16 messages wait to be received", async () => {
  const first = firstConnection();
  // The server may queue all 48 MiB: its slow-consumer limit is not what is tested here.
  await using server = startServer({ onOpen: first.onOpen, maxBufferedBytes: 64 * MiB }, echo);
  await using connection = await open(server.url());
  const serverSide = await first.connection();
  const count = 48;
  for (let i = 0; i < count; i++) serverSide.send(patternBytes(MiB, i));
  await delay(500);
  // The client holds about 17 messages and the kernel's buffers a few more: the rest is still
  // queued at the server. A client reading without bound would have drained it all.
  assert(
    serverSide.bufferedAmount > 16 * MiB,
    `only ${serverSide.bufferedAmount} bytes wait at the server`,
  );
  for (let i = 0; i < count; i++) {
    const received = await nextBytes(connection, 10_000);
    assertEquals(firstDifference(received, patternBytes(MiB, i)), -1, `message ${i}`);
  }
  assertEquals(serverSide.bufferedAmount, 0);
});

// Against a raw server, byte by byte.

Deno.test("connect: sends a well-formed upgrade request", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url("/chat?x=1"), {
    protocols: ["v2.chat", "chat"],
    headers: { Origin: "http://example.com" },
  });
  const peer = await accepted;
  const [requestLine, ...fields] = peer.request.trimEnd().split("\r\n");
  assertEquals(requestLine, "GET /chat?x=1 HTTP/1.1");
  assertEquals(fields.length, 7);
  assertEquals(peer.header("host"), `127.0.0.1:${server.port}`);
  assertEquals(peer.header("upgrade"), "websocket");
  assertEquals(peer.header("connection"), "Upgrade");
  assertEquals(peer.header("sec-websocket-version"), "13");
  assertEquals(peer.header("sec-websocket-protocol"), "v2.chat, chat");
  assertEquals(peer.header("origin"), "http://example.com");
  assert(/^[A-Za-z0-9+/]{22}==$/.test(peer.header("sec-websocket-key")!));
  peer.close();
  await ended(connection);
});

Deno.test("connect: masks every frame it sends, with a fresh key each", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url());
  const peer = await accepted;
  // The raw server's parser refuses unmasked frames.
  await connection.send("one");
  await connection.send("one");
  const first = await peer.nextFrame();
  const second = await peer.nextFrame();
  assertEquals([first?.opcode, decoder.decode(first?.payload)], [Opcode.Text, "one"]);
  assertEquals([second?.opcode, decoder.decode(second?.payload)], [Opcode.Text, "one"]);
  peer.close();
  await ended(connection);
});

Deno.test("connect: frames in the same read as the 101 are received", async () => {
  await using server = new RawServer();
  const accepted = server.accept(async (key) =>
    concat(new TextEncoder().encode(await switchingProtocols(key)), serverFrame(Opcode.Text, "hi"))
  );
  const connection = await connect(server.url());
  assertEquals(await next(connection), "hi");
  (await accepted).close();
  await ended(connection);
});

Deno.test("connect: answers the server's ping with a pong of the same payload", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url());
  const peer = await accepted;
  await peer.write(serverFrame(Opcode.Ping, "are you there"));
  const pong = await peer.nextFrame();
  assertEquals(pong?.opcode, Opcode.Pong);
  assertEquals(decoder.decode(pong?.payload), "are you there");
  peer.close();
  await ended(connection);
});

Deno.test("connect: a masked frame from the server fails the connection with 1002", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url());
  const peer = await accepted;
  await peer.write(frame(Opcode.Text, "masked", { mask: FIXED_MASK }));
  const close = await peer.nextFrame();
  assertEquals(close?.opcode, Opcode.Close);
  assertEquals(close?.payload.subarray(0, 2), closePayload(1002).subarray(0, 2));
  peer.close();
  const info = await ended(connection);
  assertEquals([info.code, info.wasClean, info.error?.closeCode], [1006, false, 1002]);
  await assertRejects(() => next(connection), ConnectionClosedError);
});

Deno.test("connect: after the close handshake the client waits for the server to end TCP", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url());
  const peer = await accepted;
  const closing = connection.close(1000, "done");
  const close = await peer.nextFrame();
  assertEquals(close?.payload, closePayload(1000, "done"));
  await peer.write(serverFrame(Opcode.Close, closePayload(1000, "done")));
  // RFC 6455 §7.1.1: the server ends TCP first; the client sends nothing more meanwhile.
  assertEquals(await peer.ending(300), { close: null, tcpClosed: false });
  assertEquals(connection.state, "closing");
  peer.close();
  assertEquals(await withTimeout(closing, "the end after the server's FIN", 1000), {
    code: 1000,
    reason: "done",
    wasClean: true,
  });
});

Deno.test("connect: ends TCP itself once closeTimeoutMs pass without the server doing so", async () => {
  await using server = new RawServer();
  const accepted = server.accept();
  const connection = await connect(server.url(), { closeTimeoutMs: 200 });
  const peer = await accepted;
  const started = Date.now();
  connection.close();
  await peer.nextFrame();
  await peer.write(serverFrame(Opcode.Close, closePayload(1000)));
  assertEquals(await peer.ending(2000), { close: null, tcpClosed: true });
  const info = await ended(connection);
  const elapsed = Date.now() - started;
  assert(elapsed >= 190 && elapsed < 1500, `ended after ${elapsed} ms`);
  assertEquals(info, { code: 1000, reason: "", wasClean: true });
});

const REFUSALS: {
  name: string;
  response: (key: string) => Promise<string> | string;
  status: number | null;
  message: string;
  protocols?: string[];
  /** Whether the server hangs up after its response. */
  hangUp?: boolean;
}[] = [
  {
    name: "a 404",
    response: () => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    status: 404,
    message: "the server answered 404 Not Found, not 101",
  },
  {
    name: "a wrong Sec-WebSocket-Accept",
    response: () => switchingProtocols("AAAAAAAAAAAAAAAAAAAAAA=="),
    status: 101,
    message: "the response's Sec-WebSocket-Accept does not match the key",
  },
  {
    name: "a subprotocol that was not offered",
    response: (key) => switchingProtocols(key, "Sec-WebSocket-Protocol: superchat\r\n"),
    protocols: ["chat"],
    status: 101,
    message: 'the server chose the subprotocol "superchat", not offered',
  },
  {
    name: "an extension that was not offered",
    response: (key) => switchingProtocols(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
    status: 101,
    message: "the server chose extensions that were not offered: permessage-deflate",
  },
  {
    name: "a malformed status line",
    response: () => "HTTP/1.1 OK\r\n\r\n",
    status: null,
    message: 'malformed response: status line "HTTP/1.1 OK"',
  },
  {
    name: "no response at all",
    response: () => "",
    hangUp: true,
    status: null,
    message: "the server closed the connection without a response",
  },
];

for (const { name, response, status, message, protocols, hangUp } of REFUSALS) {
  Deno.test(`connect: fails with UpgradeFailedError on ${name}`, async () => {
    await using server = new RawServer();
    const accepted = server.accept(response);
    const failed = connect(server.url(), { protocols });
    const peer = await accepted;
    if (hangUp) peer.close();
    const error = await assertRejects(() => withTimeout(failed, "the failure"));
    assertInstanceOf(error, UpgradeFailedError);
    assertEquals(error.status, status);
    assertEquals(error.message, message);
    // The client has closed its end.
    assertEquals((await peer.ending(2000)).tcpClosed, true);
  });
}

Deno.test("connect: fails with UpgradeFailedError when no response comes in time", async () => {
  await using server = new RawServer();
  const accepted = server.accept(() => null);
  const started = Date.now();
  const error = await assertRejects(() =>
    withTimeout(connect(server.url(), { handshakeTimeoutMs: 200 }), "the timeout")
  );
  assertInstanceOf(error, UpgradeFailedError);
  assertEquals([error.status, error.message], [null, "no handshake within 200 ms"]);
  assert(Date.now() - started >= 190);
  assertEquals((await (await accepted).ending(2000)).tcpClosed, true);
});

Deno.test("connect: refuses URLs it cannot open before connecting", async () => {
  for (const url of ["http://127.0.0.1:1/", "ws://127.0.0.1:1/#x", "nope"]) {
    await assertRejects(() => connect(url), TypeError);
  }
  await assertRejects(() => connect("ws://127.0.0.1:1/", { protocols: ["a b"] }), TypeError);
});

Deno.test("connect: a port nobody listens on fails with the runtime's error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await assertRejects(() => connect(`ws://127.0.0.1:${port}/`), Deno.errors.ConnectionRefused);
});
