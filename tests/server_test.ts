/**
 * `serve()` and the handler contract, seen from Deno's own `WebSocket` over loopback TCP: what a
 * handler receives, every shape of reply, errors, the connection's fields, closing from either
 * end, shutdown and limits.
 */

import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { ConnectionClosedError, type Message, Opcode, type WebSocketConnection } from "../mod.ts";
import {
  delay,
  firstDifference,
  openMany,
  patternBytes,
  TestClient,
  withTimeout,
} from "./helpers/client.ts";
import { closePayload, concat, frame } from "./helpers/frames.ts";
import { RawClient, upgradeRequest } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

const echo = (message: Message) => message;

/** An `onOpen` hook and the promise of the first connection it sees. */
function firstConnection() {
  const { promise, resolve } = Promise.withResolvers<WebSocketConnection>();
  return {
    onOpen: resolve,
    connection: () => withTimeout(promise, "the server's onOpen"),
  };
}

Deno.test("serve: a text message reaches the handler as a string", async () => {
  const received: Message[] = [];
  await using server = startServer({}, (message) => {
    received.push(message);
    return "ok";
  });
  await using client = await TestClient.open(server.url());
  client.send("héllo, wörld");
  assertEquals(await client.next(), "ok");
  assertEquals(received, ["héllo, wörld"]);
  assertEquals(typeof received[0], "string");
});

Deno.test("serve: a binary message reaches the handler as a Uint8Array", async () => {
  const received: Message[] = [];
  await using server = startServer({}, (message) => {
    received.push(message);
    return "ok";
  });
  await using client = await TestClient.open(server.url());
  client.send(new Uint8Array([0, 1, 0x7f, 0x80, 0xff]));
  assertEquals(await client.next(), "ok");
  assertEquals(received.length, 1);
  assert(received[0] instanceof Uint8Array, `got ${Object.prototype.toString.call(received[0])}`);
  assertEquals(received[0], new Uint8Array([0, 1, 0x7f, 0x80, 0xff]));
});

Deno.test("serve: a handler returning a string sends one text message", async () => {
  await using server = startServer({}, (message) => `re: ${message}`);
  await using client = await TestClient.open(server.url());
  client.send("ping");
  assertEquals(await client.next(), "re: ping");
});

Deno.test("serve: a handler returning bytes sends one binary message", async () => {
  await using server = startServer({}, () => new Uint8Array([9, 8, 7, 0, 255]));
  await using client = await TestClient.open(server.url());
  client.send("give me bytes");
  assertEquals(await client.next(), new Uint8Array([9, 8, 7, 0, 255]));
});

Deno.test("serve: a handler returning an array sends each element, in order", async () => {
  await using server = startServer({}, () => ["one", new Uint8Array([2]), "three"]);
  await using client = await TestClient.open(server.url());
  client.send("go");
  assertEquals(await client.collect(3), ["one", new Uint8Array([2]), "three"]);
});

Deno.test("serve: a handler returning a generator sends everything it yields", async () => {
  await using server = startServer({}, function* (message) {
    for (let i = 1; i <= 3; i++) yield `${message} ${i}`;
    yield new Uint8Array([4]);
  });
  await using client = await TestClient.open(server.url());
  client.send("count");
  assertEquals(await client.collect(4), ["count 1", "count 2", "count 3", new Uint8Array([4])]);
});

Deno.test("serve: a handler returning an async generator sends everything it yields", async () => {
  await using server = startServer({}, async function* (message) {
    for (let i = 1; i <= 3; i++) {
      await delay(3 - i);
      yield `${message} ${i}`;
    }
  });
  await using client = await TestClient.open(server.url());
  client.send("tick");
  client.send("tock");
  assertEquals(await client.collect(6), [
    "tick 1",
    "tick 2",
    "tick 3",
    "tock 1",
    "tock 2",
    "tock 3",
  ]);
});

Deno.test("serve: a handler returning a promise of a reply sends it once resolved", async () => {
  await using server = startServer({}, async (message) => {
    await delay(5);
    return `later: ${message}`;
  });
  await using client = await TestClient.open(server.url());
  client.send("now");
  assertEquals(await client.next(), "later: now");
});

Deno.test("serve: a handler returning a promise of an array sends each element", async () => {
  await using server = startServer(
    {},
    (message) => Promise.resolve([`${message}!`, `${message}?`]),
  );
  await using client = await TestClient.open(server.url());
  client.send("what");
  assertEquals(await client.collect(2), ["what!", "what?"]);
});

Deno.test("serve: a handler returning nothing sends no reply", async () => {
  await using server = startServer({}, (message) => {
    if (message === "undefined") return undefined;
    if (message === "null") return null;
    if (message === "async") return Promise.resolve();
    if (message === "empty array") return [];
    return `reply to ${message}`;
  });
  await using client = await TestClient.open(server.url());
  for (const message of ["undefined", "null", "async", "empty array", "last"]) client.send(message);
  // Had any of the first four been answered, its reply would come before this one.
  assertEquals(await client.next(), "reply to last");
  client.send("again");
  assertEquals(await client.next(), "reply to again");
});

Deno.test("serve: replies go out in message order when an async handler takes varying time", async () => {
  await using server = startServer({}, async (message) => {
    const index = Number(message);
    // Earlier messages take longer, so any overlap would reorder the replies.
    await delay((40 - index) % 7);
    return `reply ${index}`;
  });
  await using client = await TestClient.open(server.url());
  const count = 40;
  for (let i = 0; i < count; i++) client.send(String(i));
  assertEquals(await client.collect(count), Array.from({ length: count }, (_, i) => `reply ${i}`));
});

Deno.test("serve: a handler gets one message at a time", async () => {
  let running = 0;
  let mostAtOnce = 0;
  await using server = startServer({}, async (message) => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    await delay(2);
    running--;
    return message;
  });
  await using client = await TestClient.open(server.url());
  for (let i = 0; i < 10; i++) client.send(`m${i}`);
  assertEquals(await client.collect(10), Array.from({ length: 10 }, (_, i) => `m${i}`));
  assertEquals(mostAtOnce, 1);
});

for (const kind of ["throws", "rejects"] as const) {
  Deno.test(`serve: a handler that ${kind} closes its connection with 1011 and calls onError`, async () => {
    const failure = new Error("handler failed on purpose");
    const errors: [unknown, WebSocketConnection | undefined][] = [];
    let failedOn: WebSocketConnection | undefined;
    await using server = startServer(
      { onError: (error, connection) => errors.push([error, connection]) },
      (message, connection) => {
        if (message !== "fail") return `echo ${message}`;
        failedOn = connection;
        if (kind === "throws") throw failure;
        return Promise.reject(failure);
      },
    );
    await using failing = await TestClient.open(server.url());
    await using bystander = await TestClient.open(server.url());
    failing.send("fail");
    assertEquals(await failing.waitClosed(), { code: 1011, reason: "", wasClean: true });
    assertEquals(errors.length, 1);
    assert(errors[0][0] === failure, `onError got ${errors[0][0]}`);
    assert(
      errors[0][1] !== undefined && errors[0][1] === failedOn,
      "onError got another connection",
    );
    assertEquals(
      await withTimeout(errors[0][1]!.closed, "the failed connection's closed"),
      { code: 1011, reason: "", wasClean: true },
    );
    bystander.send("still there?");
    assertEquals(await bystander.next(), "echo still there?");
  });
}

Deno.test("serve: connection.url has the request's path and query", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using _client = await TestClient.open(server.url("/chat/room?id=7&name=a%20b"));
  const url = (await connection()).url;
  assertEquals(url.href, `ws://127.0.0.1:${server.port}/chat/room?id=7&name=a%20b`);
  assertEquals(url.pathname, "/chat/room");
  assertEquals(url.searchParams.get("id"), "7");
  assertEquals(url.searchParams.get("name"), "a b");
});

Deno.test("serve: connection.headers are the upgrade request's header fields", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using _client = await TestClient.open(server.url());
  const headers = (await connection()).headers;
  assertEquals(headers.get("host"), `127.0.0.1:${server.port}`);
  assertEquals(headers.get("sec-websocket-version"), "13");
  assertEquals(headers.get("upgrade")?.toLowerCase(), "websocket");
  assertEquals(atob(headers.get("sec-websocket-key") ?? "").length, 16);
});

Deno.test("serve: connection.remoteAddr is the client's loopback address and port", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using _client = await TestClient.open(server.url());
  const { remoteAddr, state } = await connection();
  assertEquals(remoteAddr.hostname, "127.0.0.1");
  assert(remoteAddr.port > 0 && remoteAddr.port <= 65535, `port ${remoteAddr.port}`);
  assertNotEquals(remoteAddr.port, server.port);
  assertEquals(state, "open");
});

Deno.test("serve: onOpen can send before the client sends anything", async () => {
  await using server = startServer({
    onOpen: (connection) => void connection.send(`welcome ${connection.url.pathname}`),
  }, echo);
  await using client = await TestClient.open(server.url("/lobby"));
  assertEquals(await client.next(), "welcome /lobby");
  client.send("then echo");
  assertEquals(await client.next(), "then echo");
});

Deno.test("serve: connection.close(4001, 'bye') reaches the client, which echoes it", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, (message, connection) => {
    if (message === "leave") connection.close(4001, "bye");
    return undefined;
  });
  await using client = await TestClient.open(server.url());
  const serverSide = await connection();
  client.send("leave");
  assertEquals(await client.waitClosed(), { code: 4001, reason: "bye", wasClean: true });
  assertEquals(
    await withTimeout(serverSide.closed, "the server's closed"),
    { code: 4001, reason: "bye", wasClean: true },
  );
  assertEquals(serverSide.state, "closed");
});

Deno.test("serve: a client's close(4000, 'done') is reported by connection.closed", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using client = await TestClient.open(server.url());
  const serverSide = await connection();
  assertEquals(await client.close(4000, "done"), { code: 4000, reason: "done", wasClean: true });
  assertEquals(
    await withTimeout(serverSide.closed, "the server's closed"),
    { code: 4000, reason: "done", wasClean: true },
  );
  assertEquals(serverSide.state, "closed");
});

Deno.test("serve: a client that drops TCP without a close frame ends with 1006, not clean", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using raw = await RawClient.open(server.port);
  const serverSide = await connection();
  raw.close();
  assertEquals(
    await withTimeout(serverSide.closed, "the server's closed"),
    { code: 1006, reason: "", wasClean: false },
  );
  assertEquals(serverSide.state, "closed");
});

Deno.test("serve: send() after close() rejects with ConnectionClosedError", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using client = await TestClient.open(server.url());
  const serverSide = await connection();
  const closing = serverSide.close(1000, "over");
  await assertRejects(() => serverSide.send("too late"), ConnectionClosedError);
  assertEquals(await client.waitClosed(), { code: 1000, reason: "over", wasClean: true });
  await withTimeout(closing, "the server's close()");
  await assertRejects(() => serverSide.send("far too late"), ConnectionClosedError);
});

/** Close arguments `close()` must refuse: codes never sent on the wire, and a reason over 123 bytes. */
const unsendableCloses: [code: number, reason: string][] = [
  [999, ""],
  [1004, ""],
  [1005, ""],
  [1006, ""],
  [1015, ""],
  [2999, ""],
  [5000, ""],
  [1000, "x".repeat(124)],
];

for (const [code, reason] of unsendableCloses) {
  const what = reason ? `a ${new TextEncoder().encode(reason).length}-byte reason` : code;
  Deno.test(`serve: close(${what}) throws RangeError and the connection stays open`, async () => {
    const { onOpen, connection } = firstConnection();
    await using server = startServer({ onOpen }, echo);
    await using client = await TestClient.open(server.url());
    const serverSide = await connection();
    assertThrows(() => serverSide.close(code, reason), RangeError);
    assertEquals(serverSide.state, "open");
    client.send("still open");
    assertEquals(await client.next(), "still open");
  });
}

Deno.test("serve: 50 concurrent clients each get their own replies", async () => {
  await using server = startServer({}, (message) => `echo ${message}`);
  await using clients = await openMany(server.url(), 50);
  clients.forEach((client, i) => {
    for (let j = 0; j < 5; j++) client.send(`client ${i} message ${j}`);
  });
  const replies = await Promise.all(clients.map((client) => client.collect(5)));
  replies.forEach((received, i) => {
    assertEquals(received, Array.from({ length: 5 }, (_, j) => `echo client ${i} message ${j}`));
  });
});

Deno.test("serve: shutdown() closes open clients with 1001 and resolves finished", async () => {
  await using server = startServer({}, echo);
  await using clients = await openMany(server.url(), 3);
  clients[0].send("before shutdown");
  assertEquals(await clients[0].next(), "before shutdown");
  await withTimeout(server.server.shutdown(), "shutdown()");
  for (const client of clients) {
    assertEquals(await client.waitClosed(), {
      code: 1001,
      reason: "server shutting down",
      wasClean: true,
    });
  }
  assertEquals(await withTimeout(server.server.finished, "finished"), undefined);
});

Deno.test("serve: a message over maxMessageBytes closes with 1009; one at the limit is fine", async () => {
  await using server = startServer({ maxMessageBytes: 1024 }, echo);
  await using client = await TestClient.open(server.url());
  const atLimit = patternBytes(1024);
  client.send(atLimit);
  assertEquals(firstDifference(await client.nextBytes(), atLimit), -1);
  client.send(patternBytes(1025));
  assertEquals(await client.waitClosed(), {
    code: 1009,
    reason: "message over 1024 bytes",
    wasClean: true,
  });
});

Deno.test("serve: maxHeaderCount refuses a request of one field more with 431", async () => {
  // The upgrade request has 5 fields: Host, Upgrade, Connection and the two Sec-WebSocket-*.
  await using server = startServer({ maxHeaderCount: 5 }, echo);
  await using refused = await RawClient.connect(server.port);
  await refused.write(upgradeRequest("/", "X-Sixth: 6\r\n"));
  const response = await withTimeout(refused.readAll(), "the 431 response");
  assert(response.startsWith("HTTP/1.1 431 "), response);
  assert(response.endsWith("\r\n\r\nrequest head with more than 5 header fields\n"), response);
  await using accepted = await RawClient.open(server.port, frame(Opcode.Text, "five"));
  assertEquals(await accepted.nextText(), "five");
});

Deno.test("serve: page false answers GET / with 404", async () => {
  await using server = startServer({ page: false }, echo);
  const response = await withTimeout(
    fetch(`http://127.0.0.1:${server.port}/`),
    "GET /",
  );
  assertEquals(response.status, 404);
  assertEquals(await response.text(), "not found\n");
});

Deno.test("serve: a pong goes out while the handler is still busy with an earlier message", async () => {
  const gate = Promise.withResolvers<void>();
  await using server = startServer({}, async () => {
    await gate.promise;
    return "done";
  });
  await using raw = await RawClient.open(
    server.port,
    concat(frame(Opcode.Text, "slow"), frame(Opcode.Ping, "p")),
  );
  const pong = await raw.nextFrame(2000);
  assertEquals([pong?.opcode, pong?.payload], [Opcode.Pong, new TextEncoder().encode("p")]);
  gate.resolve();
  assertEquals(await raw.nextText(), "done");
});

Deno.test("serve: replies to messages sent before the peer's close go out before the echo", async () => {
  await using server = startServer({}, async (message) => {
    await delay(30);
    return `re: ${message}`;
  });
  await using raw = await RawClient.open(
    server.port,
    concat(
      frame(Opcode.Text, "a"),
      frame(Opcode.Text, "b"),
      frame(Opcode.Close, closePayload(1000)),
    ),
  );
  assertEquals(await raw.nextText(), "re: a");
  assertEquals(await raw.nextText(), "re: b");
  assertEquals(await raw.ending(), { close: { code: 1000, reason: "" }, tcpClosed: true });
});

Deno.test("serve: a close the peer never answers ends TCP after closeTimeoutMs, as 1006", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ closeTimeoutMs: 300, onOpen }, echo);
  await using raw = await RawClient.open(server.port);
  const serverSide = await connection();
  const started = performance.now();
  const closed = serverSide.close(4000, "bye");
  assertEquals(await raw.ending(3000), { close: { code: 4000, reason: "bye" }, tcpClosed: true });
  assertEquals(await withTimeout(closed, "closed"), { code: 1006, reason: "", wasClean: false });
  const elapsed = performance.now() - started;
  assert(elapsed >= 250 && elapsed < 2000, `TCP ended after ${elapsed} ms, not about 300`);
});

Deno.test("serve: a send nobody awaits on a closing connection does not take the server down", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using raw = await RawClient.open(server.port, frame(Opcode.Close, closePayload(1000)));
  const serverSide = await connection();
  assertEquals((await raw.ending()).close?.code, 1000);
  serverSide.send("too late");
  await delay(50);
  await using client = await TestClient.open(server.url());
  client.send("still here");
  assertEquals(await client.next(), "still here");
});

Deno.test("serve: a generator that reuses one large buffer sends each of its contents", async () => {
  await using server = startServer({}, function* () {
    const buffer = new Uint8Array(300_000);
    for (const value of [1, 2, 3]) {
      buffer.fill(value);
      yield buffer;
    }
  });
  await using client = await TestClient.open(server.url());
  client.send("go");
  for (const value of [1, 2, 3]) {
    const reply = await client.nextBytes();
    assertEquals([reply.length, reply[0], reply[reply.length - 1]], [300_000, value, value]);
  }
});

Deno.test("serve: a peer that never reads is not buffered for without bound", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen }, echo);
  await using raw = await RawClient.open(server.port);
  const serverSide = await connection();
  const chunk = frame(Opcode.Binary, new Uint8Array(64 * 1024));
  let written = 0;
  const started = performance.now();
  const writing = (async () => {
    while (written < 256 * 1024 * 1024 && performance.now() - started < 2000) {
      await raw.write(chunk);
      written += chunk.length;
    }
  })();
  await Promise.race([writing, delay(2500)]);
  assert(written < 64 * 1024 * 1024, `the server took ${written} bytes without reading back`);
  assert(serverSide.bufferedAmount <= 5 * 1024 * 1024, `${serverSide.bufferedAmount} bytes queued`);
  raw.close();
  await withTimeout(writing.catch(() => {}), "the writer to stop");
});

Deno.test("serve: a client that never finishes its request head is cut at handshakeTimeoutMs", async () => {
  await using server = startServer({ handshakeTimeoutMs: 200 }, echo);
  await using raw = await RawClient.connect(server.port);
  await raw.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: 127"));
  const started = performance.now();
  assertEquals(await withTimeout(raw.readAll(), "TCP to end", 2000), "");
  assert(performance.now() - started >= 150, "cut before the timeout");
});

Deno.test("serve: a handler awaiting close() after the peer's close ends at once", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen, closeTimeoutMs: 3000 }, async (_, conn) => {
    await delay(20);
    await conn.close(4001, "bye");
  });
  await using raw = await RawClient.open(
    server.port,
    concat(frame(Opcode.Text, "bye"), frame(Opcode.Close, closePayload(1000))),
  );
  const serverSide = await connection();
  const started = performance.now();
  assertEquals(await raw.ending(2000), { close: { code: 4001, reason: "bye" }, tcpClosed: true });
  raw.close();
  assertEquals((await withTimeout(serverSide.closed, "closed")).code, 1000);
  assert(performance.now() - started < 1000, "waited out the close timeout");
});

Deno.test("serve: options given as undefined take their defaults", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer(
    { onOpen, closeTimeoutMs: undefined, onError: undefined, page: undefined },
    echo,
  );
  await using _client = await TestClient.open(server.url());
  const serverSide = await connection();
  assertEquals(await serverSide.close(4000, "x"), { code: 4000, reason: "x", wasClean: true });
});

Deno.test("serve: replies after the peer hung up are dropped quietly, and every message is handled", async () => {
  const handled: Message[] = [];
  const errors: unknown[] = [];
  await using server = startServer({ onError: (error) => errors.push(error) }, async (message) => {
    handled.push(message);
    await delay(30);
    return message;
  });
  const raw = await RawClient.open(
    server.port,
    concat(frame(Opcode.Text, "a"), frame(Opcode.Text, "b"), frame(Opcode.Text, "c")),
  );
  raw.close();
  await delay(300);
  assertEquals([handled, errors], [["a", "b", "c"], []]);
});

Deno.test("serve: a handler awaiting close() with many messages queued still ends the connection", async () => {
  const { onOpen, connection } = firstConnection();
  await using server = startServer({ onOpen, closeTimeoutMs: 300 }, async (message, conn) => {
    if (message === "bye") await conn.close(4002, "done");
  });
  const messages = [frame(Opcode.Text, "bye")];
  for (let i = 0; i < 20; i++) messages.push(frame(Opcode.Text, `queued ${i}`));
  await using raw = await RawClient.open(server.port, concat(...messages));
  const serverSide = await connection();
  assertEquals((await raw.ending(2000)).close, { code: 4002, reason: "done" });
  assertEquals((await withTimeout(serverSide.closed, "closed", 2000)).code, 1006);
});

Deno.test("serve: a handler's close() while the peer's violation waits for it sends the violation's code", async () => {
  await using server = startServer({}, async (_message, connection) => {
    await delay(100);
    await connection.close(1000, "done");
  });
  // A message, then an unmasked frame: 1002 waits while the handler is busy with the message.
  await using raw = await RawClient.open(
    server.port,
    concat(frame(Opcode.Text, "wait"), frame(Opcode.Text, "bad", { mask: null })),
  );
  assertEquals((await raw.ending()).close?.code, 1002);
});

Deno.test("serve: 5000 pipelined messages to an async handler are all answered, in order", async () => {
  await using server = startServer({}, async (message) => {
    await Promise.resolve();
    return message;
  });
  await using client = await TestClient.open(server.url());
  const sent = Array.from({ length: 5000 }, (_, i) => `m${i}`);
  for (const message of sent) client.send(message);
  assertEquals(await client.collect(sent.length, 20_000), sent);
});

Deno.test("serve: a connection runs once; run() again returns the same run", async () => {
  const errors: unknown[] = [];
  const runs: Promise<void>[] = [];
  await using server = startServer({
    maxConnections: 1,
    onOpen: (connection) => void runs.push(connection.run(new Uint8Array(0))),
    onError: (error) => errors.push(error),
  }, (message) => message);
  for (let round = 0; round < 2; round++) {
    // With one slot, the second connection opens only if the first gave its slot back, once.
    await using client = await TestClient.open(server.url());
    client.send("once");
    assertEquals(await client.next(), "once");
    await client.close(1000);
  }
  await Promise.all(runs);
  assertEquals([errors, runs.length, server.server.stats.connections], [[], 2, 0]);
});
