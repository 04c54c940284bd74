/**
 * `onUpgrade` over loopback TCP: what it sees of a request, refusing (as a raw client and Deno's
 * `WebSocket` see it), choosing a subprotocol end to end with our `connect()` and Deno's client,
 * response headers, per-connection data, async hooks, and every way it can fail on the server's
 * side: 500 and `onError`, while the server goes on serving.
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  connect,
  HandshakeError,
  type Message,
  Opcode,
  type PendingUpgrade,
  type ServeOptions,
  UpgradeFailedError,
  type WebSocketConnection,
} from "../mod.ts";
import { delay, TestClient, withTimeout } from "./helpers/client.ts";
import { frame } from "./helpers/frames.ts";
import { RawClient, requestUpgrade, upgradeRequest } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

const echo = (message: Message) => message;

/** Errors `onError` heard of, and an `onError` that collects them. */
function errorLog() {
  const errors: unknown[] = [];
  return { errors, onError: (error: unknown) => void errors.push(error) };
}

/** Checks that the server still accepts and echoes. */
async function assertServing(port: number): Promise<void> {
  await using client = await TestClient.open(`ws://127.0.0.1:${port}/`);
  client.send("still serving");
  assertEquals(await client.next(), "still serving");
}

Deno.test("upgrade: the hook sees the URL, headers, client address and offered subprotocols", async () => {
  const seen = Promise.withResolvers<PendingUpgrade>();
  await using server = startServer({ onUpgrade: (request) => seen.resolve(request) }, echo);
  await using client = await TestClient.open(server.url("/room/7?user=ann"), {
    protocols: ["chat.v2", "chat"],
  });
  const request = await withTimeout(seen.promise, "the hook");
  assertEquals(request.url.href, `ws://127.0.0.1:${server.port}/room/7?user=ann`);
  assertEquals(request.headers.get("host"), `127.0.0.1:${server.port}`);
  assertEquals(request.remoteAddr.hostname, "127.0.0.1");
  assert(request.remoteAddr.port > 0 && request.remoteAddr.port !== server.port);
  assertEquals(request.protocols, ["chat.v2", "chat"]);
  // Choosing none is allowed: the client offered, the server speaks none of them.
  assertEquals(client.socket.protocol, "");
});

Deno.test("upgrade: a thrown HandshakeError is the response: status, headers and body", async () => {
  const { errors, onError } = errorLog();
  await using server = startServer({
    onError,
    onUpgrade: () => {
      throw new HandshakeError(401, "who are you?", { "WWW-Authenticate": 'Bearer realm="chat"' });
    },
  }, echo);
  const response = await requestUpgrade(server.port);
  assertEquals(response.status, 401);
  assertEquals(response.headers.get("www-authenticate"), 'Bearer realm="chat"');
  assertEquals(response.headers.get("connection"), "close");
  assertEquals(response.body, "who are you?\n");
  assertEquals(errors, [], "a refusal is no error");
});

Deno.test("upgrade: Deno's WebSocket sees a refusal as an error naming the status, then a close", async () => {
  await using server = startServer({
    onUpgrade: () => {
      throw new HandshakeError(403, "not you");
    },
  }, echo);
  const socket = new WebSocket(server.url());
  const errored = new Promise<Event>((resolve) => socket.onerror = resolve);
  const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
  let opened = false;
  socket.onopen = () => opened = true;
  const error = await withTimeout(errored, "the error event");
  assert(error instanceof ErrorEvent && error.message.includes("403"), String(error));
  // The spec says 1006; Deno 2 reports 0. Either way, not clean and never open.
  const close = await withTimeout(closed, "the close event");
  assertEquals([opened, close.wasClean], [false, false]);
});

Deno.test("upgrade: the chosen subprotocol reaches our connect() and both connections", async () => {
  const serverSide = Promise.withResolvers<WebSocketConnection>();
  await using server = startServer({
    onUpgrade: (request) => ({ protocol: request.protocols.find((p) => p.startsWith("chat")) }),
    onOpen: serverSide.resolve,
  }, (message, connection) => `${connection.protocol}: ${message}`);
  const connection = await connect(server.url(), { protocols: ["superchat", "chat.v2", "chat"] });
  try {
    assertEquals(connection.protocol, "chat.v2");
    assertEquals((await withTimeout(serverSide.promise, "onOpen")).protocol, "chat.v2");
    await connection.send("hi");
    assertEquals(await withTimeout(connection.receive(), "the reply"), "chat.v2: hi");
  } finally {
    await connection.close();
  }
});

Deno.test("upgrade: the chosen subprotocol reaches Deno's WebSocket", async () => {
  await using server = startServer({
    onUpgrade: (request) => ({ protocol: request.protocols.at(-1) }),
  }, (message, connection) => `${connection.protocol}: ${message}`);
  await using client = await TestClient.open(server.url(), { protocols: ["mqtt", "graphql-ws"] });
  assertEquals(client.socket.protocol, "graphql-ws");
  client.send("query");
  assertEquals(await client.next(), "graphql-ws: query");
});

Deno.test("upgrade: a subprotocol the client did not offer is a server error: 500 and onError, not sent", async () => {
  const { errors, onError } = errorLog();
  await using server = startServer({ onError, onUpgrade: () => ({ protocol: "chat" }) }, echo);
  const response = await requestUpgrade(server.port, "Sec-WebSocket-Protocol: mqtt\r\n");
  assertEquals([response.status, response.body], [500, "internal server error\n"]);
  assertEquals(response.headers.get("sec-websocket-protocol"), null);
  assertEquals(errors.length, 1);
  const error = errors[0];
  assert(error instanceof TypeError && error.message.includes('"chat"'), String(error));
  // Our client refuses such a 101 too; here it never gets one.
  const failure = await assertRejects(
    () => connect(server.url(), { protocols: ["mqtt"] }),
    UpgradeFailedError,
  );
  assertEquals(failure.status, 500);
});

Deno.test("upgrade: a malformed Sec-WebSocket-Protocol gets 400 before the hook runs", async () => {
  let calls = 0;
  await using server = startServer({ onUpgrade: () => void calls++ }, echo);
  const response = await requestUpgrade(server.port, "Sec-WebSocket-Protocol: a b\r\n");
  assertEquals([response.status, response.body], [400, "malformed Sec-WebSocket-Protocol\n"]);
  assertEquals(calls, 0);
});

Deno.test("upgrade: the hook's response headers are on the 101", async () => {
  await using server = startServer({
    onUpgrade: () => ({ headers: [["Set-Cookie", "session=1"], ["Set-Cookie", "theme=dark"]] }),
  }, echo);
  const response = await requestUpgrade(server.port);
  assertEquals(response.status, 101);
  assertEquals(response.headers.getSetCookie(), ["session=1", "theme=dark"]);
});

const BAD_ACCEPTANCES: [string, ServeOptions["onUpgrade"]][] = [
  ["a header value with CR LF", () => ({ headers: { "X-A": "1\r\nX-Injected: 1" } })],
  ["a handshake header", () => ({ headers: { "Sec-WebSocket-Accept": "forged" } })],
  ["a refusal with status 200", () => {
    throw new HandshakeError(200, "fine?");
  }],
  ["a refusal with a header value holding LF", () => {
    throw new HandshakeError(403, "no", { "X-A": "1\nX-Injected: 1" });
  }],
];

for (const [name, onUpgrade] of BAD_ACCEPTANCES) {
  Deno.test(`upgrade: ${name} is a server error: 500 and onError`, async () => {
    const { errors, onError } = errorLog();
    await using server = startServer({ onError, onUpgrade }, echo);
    const response = await requestUpgrade(server.port);
    assertEquals([response.status, response.body], [500, "internal server error\n"]);
    assertEquals(response.headers.get("x-injected"), null);
    assertEquals(errors.length, 1);
    assert(errors[0] instanceof TypeError || errors[0] instanceof RangeError, String(errors[0]));
  });
}

Deno.test("upgrade: the data the hook attaches is the connection's data in every hook", async () => {
  const opened: string[] = [];
  await using server = startServer({
    onUpgrade: (request) => ({ data: { user: request.url.searchParams.get("user") ?? "" } }),
    onOpen: (connection) => void opened.push(connection.data.user),
  }, (message, connection) => `${connection.data.user}: ${message}`);
  await using ann = await TestClient.open(server.url("/?user=ann"));
  await using bob = await TestClient.open(server.url("/?user=bob"));
  ann.send("hi");
  bob.send("hello");
  assertEquals([await ann.next(), await bob.next()], ["ann: hi", "bob: hello"]);
  assertEquals(opened.sort(), ["ann", "bob"]);
});

Deno.test("upgrade: an async hook may take its time, and may refuse after it", async () => {
  await using server = startServer({
    onUpgrade: async (request) => {
      await delay(50);
      if (request.url.pathname === "/closed") throw new HandshakeError(404, "no such room");
      return { data: request.url.pathname };
    },
  }, (message, connection) => `${connection.data} ${message}`);
  await using client = await TestClient.open(server.url("/open"));
  client.send("hi");
  assertEquals(await client.next(), "/open hi");
  await using refused = await RawClient.connect(server.port);
  await refused.write(upgradeRequest("/closed"));
  const response = await withTimeout(refused.readAll(), "the refusal");
  assert(response.startsWith("HTTP/1.1 404 "), response);
  assert(response.endsWith("\r\n\r\nno such room\n"), response);
});

Deno.test("upgrade: a hook that never settles is cut at handshakeTimeoutMs and reported", async () => {
  const { errors, onError } = errorLog();
  await using server = startServer({
    handshakeTimeoutMs: 200,
    onError,
    onUpgrade: (request) =>
      request.url.pathname === "/hang" ? new Promise<void>(() => {}) : undefined,
  }, echo);
  await using raw = await RawClient.connect(server.port);
  const started = performance.now();
  await raw.write(upgradeRequest("/hang"));
  assertEquals(await withTimeout(raw.readAll(), "TCP to end", 2000), "");
  const elapsed = performance.now() - started;
  assert(elapsed >= 150 && elapsed < 1500, `cut after ${elapsed} ms, not about 200`);
  assertEquals(errors.length, 1);
  assertEquals(
    (errors[0] as Error).message,
    "onUpgrade did not settle within handshakeTimeoutMs (200 ms)",
  );
  await assertServing(server.port);
});

for (const kind of ["throws", "rejects"] as const) {
  Deno.test(`upgrade: a hook that ${kind} something else is answered 500, goes to onError, and the server goes on`, async () => {
    const failure = new Error("the database is down");
    const { errors, onError } = errorLog();
    await using server = startServer({
      onError,
      onUpgrade: (request) => {
        if (request.url.pathname !== "/fail") return;
        if (kind === "throws") throw failure;
        return Promise.reject(failure);
      },
    }, echo);
    await using raw = await RawClient.connect(server.port);
    await raw.write(upgradeRequest("/fail"));
    const response = await withTimeout(raw.readAll(), "the response");
    assert(response.startsWith("HTTP/1.1 500 Internal Server Error\r\n"), response);
    assert(response.endsWith("\r\n\r\ninternal server error\n"), response);
    assert(!response.includes("database"), "the error's detail went on the wire");
    assertEquals(errors, [failure]);
    await assertServing(server.port);
  });
}

Deno.test("upgrade: shutdown() does not wait for a hook that never settles, nor report it", async () => {
  const { errors, onError } = errorLog();
  const called = Promise.withResolvers<void>();
  const server = startServer({
    handshakeTimeoutMs: 10_000,
    onError,
    onUpgrade: () => {
      called.resolve();
      return new Promise<void>(() => {});
    },
  }, echo);
  await using raw = await RawClient.connect(server.port);
  await raw.write(upgradeRequest());
  await withTimeout(called.promise, "the hook");
  const started = performance.now();
  await withTimeout(server.server.shutdown(), "shutdown()", 2000);
  assert(performance.now() - started < 1000, "shutdown waited for the hook");
  assertEquals(await withTimeout(raw.readAll(), "TCP to end"), "");
  assertEquals(errors, []);
});

Deno.test("upgrade: without a hook, offered subprotocols are declined and the client still opens", async () => {
  await using server = startServer({}, echo);
  const response = await requestUpgrade(server.port, "Sec-WebSocket-Protocol: chat\r\n");
  assertEquals([response.status, response.headers.get("sec-websocket-protocol")], [101, null]);
  await using raw = await RawClient.open(server.port, frame(Opcode.Text, "plain"));
  assertEquals(await raw.nextText(), "plain");
});
