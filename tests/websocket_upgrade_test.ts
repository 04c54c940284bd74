/**
 * Upgrades decided by `fetch` (`fetchUpgrades`), over loopback TCP: it sees them as `Request`s,
 * checked and holding a slot; `info.upgrade()` accepts with a subprotocol, headers and data; any
 * other response refuses; a `fetch` that throws or calls `upgrade()` wrongly gets 500 and goes to
 * `onError`; and the options that cannot go together.
 */

import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { connect, type FetchHandler, type Message, serve } from "../mod.ts";
import { TestClient, withTimeout } from "./helpers/client.ts";
import { RawClient, requestUpgrade, upgradeRequest } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

type Data = { user: string };

function routed(fetch: FetchHandler<Data>) {
  const errors: unknown[] = [];
  const server = startServer<Data>({
    fetchUpgrades: true,
    fetch,
    onError: (error) => void errors.push(error),
  }, (message: Message, connection) => `${connection.data.user}: ${message}`);
  return { server, errors, [Symbol.asyncDispose]: () => server.server.shutdown() };
}

Deno.test("fetch upgrades: info.upgrade() accepts with a subprotocol, headers and data", async () => {
  const seen: Request[] = [];
  await using app = routed((request, info) => {
    seen.push(request);
    const user = new URL(request.url).searchParams.get("user") ?? "nobody";
    return info.upgrade(request, {
      protocol: "chat",
      headers: { "set-cookie": "seen=1" },
      data: { user },
    });
  });
  const connection = await connect(app.server.url("/chat?user=ann"), { protocols: ["chat"] });
  assertEquals(connection.protocol, "chat");
  await connection.send("hi");
  assertEquals(await connection.receive(), "ann: hi");
  await connection.close();
  assertEquals(seen[0].url, `http://127.0.0.1:${app.server.port}/chat?user=ann`);
  assertEquals([seen[0].method, seen[0].headers.get("upgrade")], ["GET", "websocket"]);
  const accepted = await requestUpgrade(app.server.port, "Sec-WebSocket-Protocol: chat\r\n");
  assertEquals([accepted.status, accepted.headers.get("set-cookie")], [101, "seen=1"]);
});

Deno.test("fetch upgrades: a response of fetch's own refuses, and plain requests still go to fetch", async () => {
  await using app = routed((request, info) => {
    if (request.headers.get("upgrade") === null) return new Response("plain");
    if (new URL(request.url).pathname !== "/ws") {
      return new Response("no such room", { status: 403, headers: { "x-why": "room" } });
    }
    return info.upgrade(request, { data: { user: "bo" } });
  });
  const refused = await requestUpgrade(app.server.port, "", "/other");
  assertEquals([refused.status, refused.headers.get("x-why")], [403, "room"]);
  assertEquals(refused.body, "no such room");
  assertEquals(refused.headers.get("connection"), "close");
  await using client = await TestClient.open(app.server.url("/ws"));
  client.send("x");
  assertEquals(await client.next(), "bo: x");
  const plain = await fetch(`http://127.0.0.1:${app.server.port}/ws`);
  assertEquals(await plain.text(), "plain");
  assertEquals(app.errors, []);
});

Deno.test("fetch upgrades: a fetch that throws, returns nothing, or upgrades a plain request gets 500 and onError", async () => {
  await using app = routed((request, info) => {
    const path = new URL(request.url).pathname;
    if (path === "/throw") throw new Error("fetch broke");
    if (path === "/nothing") return undefined as unknown as Response;
    return info.upgrade(new Request(request.url));
  });
  for (const path of ["/throw", "/nothing"]) {
    assertEquals((await requestUpgrade(app.server.port, "", path)).status, 500, path);
  }
  const plain = await fetch(`http://127.0.0.1:${app.server.port}/plain`);
  assertEquals([plain.status, await plain.text()], [500, "internal server error\n"]);
  assertEquals((app.errors[0] as Error).message, "fetch broke");
  assertInstanceOf(app.errors[1], TypeError);
  assertInstanceOf(app.errors[2], TypeError);
});

Deno.test("fetch upgrades: upgrade requests reach fetch checked: a bad one is refused before it", async () => {
  let calls = 0;
  await using app = routed((request, info) => {
    calls++;
    return info.upgrade(request, { data: { user: "x" } });
  });
  const refused = await requestUpgrade(app.server.port, "Sec-WebSocket-Version: 8\r\n");
  // The request above carries two versions, "13, 8": not 13.
  assertEquals([refused.status, calls], [426, 0]);
});

Deno.test("fetch upgrades: a fetch that does not answer within handshakeTimeoutMs ends the connection", async () => {
  const errors: unknown[] = [];
  await using server = startServer({
    fetchUpgrades: true,
    handshakeTimeoutMs: 100,
    fetch: () => new Promise<Response>(() => {}),
    onError: (error) => void errors.push(error),
  }, (message) => message);
  await using client = await RawClient.connect(server.port);
  await client.write(upgradeRequest());
  assertEquals(await withTimeout(client.readAll(), "the end of TCP"), "");
  assertEquals(errors.length, 1);
});

Deno.test("fetch upgrades: fetchUpgrades with onUpgrade is refused", () => {
  assertThrows(
    () => serve({ port: 0, fetchUpgrades: true, onUpgrade: () => {} }, (message) => message),
    TypeError,
    "onUpgrade cannot be given",
  );
});
