/**
 * `maxConnections` over loopback TCP: an upgrade over the limit gets 503 while the open
 * connections go on and plain HTTP is still served; a connection that ends frees its slot; an
 * upgrade being decided by `onUpgrade` holds one, and a refused one gives it back.
 */

import { assert, assertEquals } from "@std/assert";
import { HandshakeError, type Message, type WebSocketConnection } from "../../mod.ts";
import { openMany, TestClient, withTimeout } from "../helpers/client.ts";
import { RawClient, upgradeRequest } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

const echo = (message: Message) => message;

/** Sends an upgrade request for `path` and reads the whole response, which must end TCP. */
async function refusedUpgrade(port: number, path = "/"): Promise<string> {
  await using raw = await RawClient.connect(port);
  await raw.write(upgradeRequest(path));
  return await withTimeout(raw.readAll(), "the refusal");
}

Deno.test("maxConnections: the 4th of 3 gets 503 while the first 3 echo and HTTP is served; a closed one frees its slot", async () => {
  const serverSides: WebSocketConnection[] = [];
  await using server = startServer({
    maxConnections: 3,
    onOpen: (connection) => void serverSides.push(connection),
  }, echo);
  await using clients = await openMany(server.url(), 3);

  const refusal = await refusedUpgrade(server.port);
  assert(refusal.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), refusal);
  assert(refusal.endsWith("\r\n\r\ntoo many connections\n"), refusal);
  for (const [i, client] of clients.entries()) {
    client.send(`client ${i}`);
    assertEquals(await client.next(), `client ${i}`);
  }
  const page = await withTimeout(fetch(`http://127.0.0.1:${server.port}/`), "GET /");
  assertEquals(page.status, 200);
  await page.body?.cancel();

  // The slot is free once the server's end of the connection has ended.
  const [first] = clients.splice(0, 1);
  await first.close();
  const anyEnded = Promise.race(serverSides.map((connection) => connection.closed));
  await withTimeout(anyEnded, "the server's end of the closed connection");
  await using fourth = await TestClient.open(server.url());
  fourth.send("fourth");
  assertEquals(await fourth.next(), "fourth");
  assert((await refusedUpgrade(server.port)).startsWith("HTTP/1.1 503 "), "a 5th got in");
});

Deno.test("maxConnections: an upgrade waiting for onUpgrade holds a slot; a refused one gives it back", async () => {
  const release = Promise.withResolvers<void>();
  const waiting = Promise.withResolvers<void>();
  await using server = startServer({
    maxConnections: 1,
    onUpgrade: async (request) => {
      if (request.url.pathname === "/refuse") throw new HandshakeError(403, "no");
      waiting.resolve();
      await release.promise;
    },
  }, echo);
  // Refused by the hook, twice over: the slot comes back each time.
  for (let i = 0; i < 2; i++) {
    assert((await refusedUpgrade(server.port, "/refuse")).startsWith("HTTP/1.1 403 "));
  }
  const first = TestClient.open(server.url());
  await withTimeout(waiting.promise, "the first upgrade to reach onUpgrade");
  assert((await refusedUpgrade(server.port)).startsWith("HTTP/1.1 503 "), "a 2nd got in");
  release.resolve();
  await using client = await first;
  client.send("first");
  assertEquals(await client.next(), "first");
});
