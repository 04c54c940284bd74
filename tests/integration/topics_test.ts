/**
 * Topics over real TCP, with Deno's `WebSocket` as the subscribers and raw clients where a peer
 * must misbehave: publishes reach every subscriber once and in order, a connection's own publish
 * leaves it out, a slow subscriber holds up no one, and connections leave their topics however
 * they end. The room server of the command line runs as a process on each runtime.
 */

import { assert, assertEquals } from "@std/assert";
import { Opcode, type WebSocketConnection } from "../../mod.ts";
import { delay, openMany, TestClient, withTimeout } from "../helpers/client.ts";
import { frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer, testCli } from "../helpers/server.ts";

/** Waits (polling) until `condition` holds; fails after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await delay(10);
  }
}

/** A server whose connections subscribe to the topic their path names, and publish to it. */
function roomServer(options: Parameters<typeof startServer>[0] = {}) {
  return startServer({
    ...options,
    onOpen: (connection) => connection.subscribe(connection.url.pathname),
  }, (message, connection) => void connection.publish(connection.url.pathname, message));
}

Deno.test("topics: server.publish reaches every subscriber once, in the order published", async () => {
  await using server = roomServer();
  await using clients = await openMany(server.url("/news"), 5);
  await using other = await TestClient.open(server.url("/sport"));
  await until(() => server.server.subscriberCount("/news") === 5, "5 subscribers");
  const sent = Array.from({ length: 200 }, (_, i) => i % 3 === 0 ? new Uint8Array([i]) : `m${i}`);
  for (const message of sent) server.server.publish("/news", message);
  for (const client of clients) assertEquals(await client.collect(200), sent);
  const { topics } = server.server.stats;
  assertEquals([topics.published, topics.delivered, topics.dropped], [200, 1000, 0]);
  other.send("ping");
  await assertNothing(other);
});

Deno.test("topics: a connection's publish goes to the others on its topic, not back to it", async () => {
  await using server = roomServer();
  await using clients = await openMany(server.url("/room"), 3);
  const [a, b, c] = clients;
  await until(() => server.server.subscriberCount("/room") === 3, "3 subscribers");
  a.send("from a");
  assertEquals([await b.next(), await c.next()], ["from a", "from a"]);
  b.send(new Uint8Array([7, 7]));
  assertEquals([await a.next(), await c.next()], [new Uint8Array([7, 7]), new Uint8Array([7, 7])]);
  // a got only b's message: nothing of its own came back.
  await assertNothing(a);
});

/** Asserts nothing more arrives at `client` within a short while. */
async function assertNothing(client: TestClient): Promise<void> {
  await delay(150);
  assertEquals(client.takeAll(), []);
}

Deno.test("topics: a publish from a connection with no subscriptions still goes out", async () => {
  let publisher: WebSocketConnection | undefined;
  await using server = startServer({
    onOpen: (connection) => {
      if (connection.url.pathname === "/listen") connection.subscribe("t");
      else publisher = connection;
    },
  }, (message, connection) => void connection.publish("t", message));
  await using listener = await TestClient.open(server.url("/listen"));
  await using talker = await TestClient.open(server.url("/talk"));
  await until(() => publisher !== undefined && server.server.subscriberCount("t") === 1, "both");
  talker.send("hello");
  assertEquals(await listener.next(), "hello");
  assertEquals(publisher!.subscriptions, []);
});

Deno.test("topics: what is published in the same turn as an unsubscribe is still delivered", async () => {
  let subscriber: WebSocketConnection | undefined;
  await using server = startServer({
    onOpen: (connection) => {
      connection.subscribe("t");
      connection.subscribe("t");
      subscriber = connection;
    },
  }, () => {});
  await using client = await TestClient.open(server.url());
  await until(() => subscriber !== undefined, "the subscriber");
  assertEquals([subscriber!.subscriptions, server.server.subscriberCount("t")], [["t"], 1]);
  assertEquals(server.server.publish("t", "last"), 1);
  subscriber!.unsubscribe("t");
  assertEquals(server.server.publish("t", "too late"), 0);
  assertEquals(await client.next(), "last");
  await assertNothing(client);
  assertEquals(subscriber!.isSubscribed("t"), false);
});

Deno.test("topics: a subscriber that does not read is dropped for and closed, and holds up neither the publisher nor the others", async () => {
  const errors: unknown[] = [];
  await using server = roomServer({
    maxBufferedBytes: 64 * 1024,
    slowConsumerGraceMs: 300,
    closeTimeoutMs: 300,
    onError: (error) => errors.push(error),
  });
  await using reader = await TestClient.open(server.url("/feed"));
  await using sleeper = await RawClient.open(server.port, undefined, "", "/feed"); // Never reads.
  await until(() => server.server.subscriberCount("/feed") === 2, "2 subscribers");
  const payload = new Uint8Array(16 * 1024).fill(1);
  // 6.4 MiB to each, 64 KiB a turn: as fast as the reader reads, far faster than the sleeper.
  const publishing = (async () => {
    for (let i = 0; i < 400; i++) {
      server.server.publish("/feed", payload);
      if (i % 4 === 3) await delay(1);
    }
  })();
  assertEquals((await reader.collect(400, 20_000)).length, 400);
  await publishing;
  await until(() => server.server.subscriberCount("/feed") === 1, "the sleeper gone", 5000);
  assertEquals(errors.map((error) => (error as Error).name), ["SlowConsumerError"]);
  assert(sleeper !== undefined);
});

Deno.test("topics: with the drop policy, what a slow subscriber cannot take is dropped and counted", async () => {
  await using server = roomServer({
    maxBufferedBytes: 32 * 1024,
    slowConsumer: "drop",
    slowConsumerGraceMs: 0,
  });
  await using _sleeper = await RawClient.open(server.port, undefined, "", "/feed");
  await until(() => server.server.subscriberCount("/feed") === 1, "the subscriber");
  for (let i = 0; i < 200; i++) server.server.publish("/feed", new Uint8Array(16 * 1024));
  const { topics } = server.server.stats;
  assert(topics.dropped > 100, `${topics.dropped} dropped`);
  assertEquals(topics.delivered + topics.dropped, 200);
});

Deno.test("topics: a connection that ends abruptly leaves its topics", async () => {
  await using server = roomServer();
  const client = await RawClient.open(server.port, undefined, "", "/room");
  await until(() => server.server.subscriberCount("/room") === 1, "the subscriber");
  client.conn.close(); // No close frame: TCP just ends.
  await until(() => server.server.subscriberCount("/room") === 0, "the subscription gone");
  assertEquals(server.server.publish("/room", "anyone?"), 0);
});

testCli(
  "rooms: a message goes to everyone in its room, the sender too, opcode and bytes unchanged; not to other rooms",
  async (cli) => {
    const url = (path: string) => `ws://127.0.0.1:${cli.port}${path}`;
    await using a = await TestClient.open(url("/rooms/lobby"));
    await using b = await TestClient.open(url("/rooms/lobby"));
    await using elsewhere = await TestClient.open(url("/rooms/kitchen"));
    // Subscribing happens as each opens: a first message round trip proves it is done.
    a.send("hello");
    assertEquals(await withTimeout(a.next(), "a's own"), "hello");
    assertEquals(await b.next(), "hello");
    b.send(new Uint8Array([0, 255, 1]));
    assertEquals([await a.next(), await b.next()], [
      new Uint8Array([0, 255, 1]),
      new Uint8Array([0, 255, 1]),
    ]);
    await assertNothing(elsewhere);
  },
  ["--rooms"],
);

testCli(
  "rooms: a raw client's fragmented message reaches the room as one message",
  async (cli) => {
    await using raw = await RawClient.open(cli.port, undefined, "", "/r");
    await using listener = await TestClient.open(`ws://127.0.0.1:${cli.port}/r`);
    await raw.write(frame(Opcode.Text, "ping"));
    // The raw client is subscribed once its own message comes back to it.
    assertEquals((await raw.nextFrame())?.opcode, Opcode.Text);
    assertEquals(await listener.next(), "ping");
    await raw.write(frame(Opcode.Text, "Hel", { fin: false }));
    await raw.write(frame(Opcode.Continuation, "lo"));
    assertEquals(await listener.next(), "Hello");
  },
  ["--rooms"],
);
