/**
 * `redisPubSub` against a real `redis-server` of each test's own, on a free loopback port:
 * delivery between relays in this process and in processes of their own on Deno and Bun, an
 * outage (SIGKILL and restart on the same port), the channels Redis holds, and a Redis that is
 * not there.
 */

import { assertEquals, assertThrows } from "@std/assert";
import type { PubSub, PubSubEvent, RelayedMessage } from "../../src/pubsub/pubsub.ts";
import { redisPubSub, type RedisPubSubOptions } from "../../src/pubsub/redis.ts";
import { delay, withTimeout } from "../helpers/client.ts";
import { freePort, startRedis } from "../helpers/redis.ts";
import { IMPORT_MAP, RUNTIMES } from "../helpers/server.ts";
import type { SubscriberReport } from "./redis_subscriber.ts";

const ROOT = new URL("../../", import.meta.url);
const BUN_OFFLINE = new URL("tests/bun_offline.ts", ROOT).pathname;
const SUBSCRIBER = new URL("redis_subscriber.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Short, so that reconnecting after an outage takes a fraction of a second. */
const OPTIONS: RedisPubSubOptions = { maxReconnectDelayMs: 250 };

/** A started relay and what it received and was told. */
interface Node {
  relay: PubSub;
  messages: RelayedMessage[];
  events: PubSubEvent[];
}

function startNode(url: string, options: RedisPubSubOptions = OPTIONS): Node {
  const node: Node = { relay: redisPubSub(url, options), messages: [], events: [] };
  node.relay.start({
    onMessage: (message) => node.messages.push(message),
    onEvent: (event) => node.events.push(event),
  });
  return node;
}

/** Polls until `done()` (awaited); fails naming `what` after `timeoutMs`. */
async function until(
  done: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!await done()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await delay(10);
  }
}

/** Subscribers of each channel, as Redis counts them (`PUBSUB NUMSUB`). */
async function subscribers(
  redis: { cli(...args: string[]): Promise<string[]> },
  ...channels: string[]
): Promise<number[]> {
  const reply = await redis.cli("PUBSUB", "NUMSUB", ...channels);
  return channels.map((_, i) => Number(reply[2 * i + 1]));
}

const texts = (messages: RelayedMessage[]) =>
  messages.map(({ payload }) => decoder.decode(payload));
const numbered = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => String(from + i));
const kinds = (node: Node) => node.events.map(({ kind, lost }) => `${kind} ${lost}`);

/** Publishes `"<from>"` … `"<from + count - 1>"` to `topic`, with connection id `i + 1`. */
function publishNumbered(node: Node, topic: string, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) {
    node.relay.publish(topic, "text", encoder.encode(String(i)), i + 1);
  }
}

Deno.test("redisPubSub: every publish reaches each of 3 subscribers once, in its publisher's order, never the publisher", async () => {
  await using redis = await startRedis();
  const subscribersOnly = [0, 1, 2].map(() => startNode(redis.url));
  const publishers = [startNode(redis.url), startNode(redis.url)];
  const all = [...subscribersOnly, ...publishers];
  try {
    for (const node of all) node.relay.subscribe("t");
    await until(async () => (await subscribers(redis, "wsd:t"))[0] === 5, "5 subscribed");
    await until(() => publishers.every(({ relay }) => relay.stats.connected), "publishers ready");
    const count = 2_000;
    // Interleaved, in one turn: each publisher's order must survive the other's.
    for (let i = 0; i < count; i++) {
      for (const publisher of publishers) {
        publisher.relay.publish("t", "text", encoder.encode(String(i)), i + 1);
      }
    }
    await until(
      () =>
        subscribersOnly.every(({ messages }) => messages.length === 2 * count) &&
        publishers.every(({ messages }) => messages.length === count),
      "every message",
    );
    await delay(50);
    for (const node of all) {
      for (const publisher of publishers) {
        if (publisher === node) continue;
        const theirs = node.messages.filter(({ origin }) => origin.node === publisher.relay.node);
        assertEquals(texts(theirs), numbered(count));
        assertEquals(theirs.map(({ origin }) => origin.connection), numbered(count, 1).map(Number));
      }
      // Nothing of its own came back, and nothing else came at all.
      assertEquals(node.messages.some(({ origin }) => origin.node === node.relay.node), false);
      assertEquals(node.messages.length, publishers.includes(node) ? count : 2 * count);
      assertEquals(node.events, []);
    }
    for (const publisher of publishers) {
      assertEquals(publisher.relay.stats, {
        published: count,
        delivered: count,
        lost: 0,
        reconnects: 0,
        connected: true,
      });
    }
  } finally {
    await Promise.all(all.map(({ relay }) => relay.close()));
  }
});

Deno.test("redisPubSub: binary payloads arrive as the same bytes, marked binary, with their origin", async () => {
  await using redis = await startRedis();
  const [a, b] = [startNode(redis.url), startNode(redis.url)];
  try {
    b.relay.subscribe("bytes");
    await until(async () => (await subscribers(redis, "wsd:bytes"))[0] === 1, "subscribed");
    await until(() => a.relay.stats.connected, "a ready");
    const every = new Uint8Array(256).map((_, i) => i);
    a.relay.publish("bytes", "binary", every, 42);
    a.relay.publish("bytes", "text", encoder.encode("κόσμε"), 0);
    await until(() => b.messages.length === 2, "both messages");
    assertEquals(b.messages.map(({ topic, kind }) => `${topic} ${kind}`), [
      "bytes binary",
      "bytes text",
    ]);
    assertEquals(b.messages[0].payload, every);
    assertEquals(b.messages[0].origin, { node: a.relay.node, connection: 42 });
    assertEquals(decoder.decode(b.messages[1].payload), "κόσμε");
    assertEquals(b.messages[1].origin, { node: a.relay.node, connection: 0 });
  } finally {
    await Promise.all([a.relay.close(), b.relay.close()]);
  }
});

Deno.test("redisPubSub: subscribers in processes of their own, on Deno and Bun, receive every publish once, in order", async () => {
  await using redis = await startRedis();
  const topic = "procs";
  const children = RUNTIMES.map((runtime) => {
    // The least Deno needs for the relay: the network, and one environment variable.
    const [program, ...runtimeArgs] = runtime === "deno"
      ? [
        Deno.execPath(),
        "run",
        "--allow-net=127.0.0.1",
        "--allow-env=REDIS_DEBUG_MAINTENANCE",
        `--import-map=${IMPORT_MAP}`,
      ]
      : ["bun", `--preload=${BUN_OFFLINE}`];
    return new Deno.Command(program, {
      args: [...runtimeArgs, SUBSCRIBER, redis.url, topic, "2"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  });
  const publishers = [startNode(redis.url), startNode(redis.url)];
  try {
    await until(
      async () => (await subscribers(redis, `wsd:${topic}`))[0] === RUNTIMES.length,
      "the child processes subscribed",
      20_000,
    );
    await until(() => publishers.every(({ relay }) => relay.stats.connected), "publishers ready");
    const count = 5_000;
    for (let i = 0; i < count; i++) {
      for (const { relay } of publishers) {
        relay.publish(topic, "text", encoder.encode(String(i)), i + 1);
      }
    }
    for (const { relay } of publishers) relay.publish(topic, "text", encoder.encode("end"), 0);
    const outputs = await withTimeout(
      Promise.all(children.map((child) => child.output())),
      "the child processes' reports",
      20_000,
    );
    for (const [i, { code, stdout, stderr }] of outputs.entries()) {
      assertEquals(code, 0, `${RUNTIMES[i]}: ${decoder.decode(stderr)}`);
      const report: SubscriberReport = JSON.parse(decoder.decode(stdout));
      assertEquals(report, {
        received: Object.fromEntries(
          publishers.map(({ relay }) => [relay.node, { count, inOrder: true }]),
        ),
        lost: 0,
        events: [],
      }, RUNTIMES[i]);
    }
  } finally {
    for (const child of children) {
      try {
        child.kill();
      } catch {
        // Already exited.
      }
      await child.status;
    }
    await Promise.all(publishers.map(({ relay }) => relay.close()));
  }
});

Deno.test("redisPubSub: Redis killed and restarted: publishes meanwhile are lost, counted and told; subscriptions come back; delivery resumes", async () => {
  await using redis = await startRedis();
  const subscribersOnly = [0, 1, 2].map(() => startNode(redis.url));
  const publisher = startNode(redis.url);
  const all = [...subscribersOnly, publisher];
  try {
    for (const { relay } of subscribersOnly) relay.subscribe("t");
    await until(async () => (await subscribers(redis, "wsd:t"))[0] === 3, "3 subscribed");
    await until(() => publisher.relay.stats.connected, "publisher ready");
    publishNumbered(publisher, "t", 100);
    await until(
      () => subscribersOnly.every(({ messages }) => messages.length === 100),
      "the first 100",
    );
    // Confirmed too, so that none is in flight when Redis dies: the 50 below are all it loses.
    await until(() => publisher.relay.stats.published === 100, "the first 100 confirmed");

    await redis.kill();
    await until(
      () => all.every((node) => kinds(node).includes("disconnected 0")),
      "every relay told it was disconnected",
    );
    assertEquals(all.map(({ relay }) => relay.stats.connected), [false, false, false, false]);
    // Publishes during the outage neither throw nor wait: they are lost, and counted.
    publishNumbered(publisher, "t", 50, 100);
    assertEquals(publisher.relay.stats.lost, 50);

    await redis.restart();
    await until(
      () => all.every((node) => node.events.some(({ kind }) => kind === "reconnected")),
      "every relay told it reconnected",
      10_000,
    );
    // Reconnected is told once every topic is subscribed again.
    assertEquals(await subscribers(redis, "wsd:t"), [3]);
    publishNumbered(publisher, "t", 100, 150);
    await until(
      () => subscribersOnly.every(({ messages }) => messages.length === 200),
      "the 100 after the outage",
    );
    await delay(50);
    for (const node of subscribersOnly) {
      assertEquals(texts(node.messages), [...numbered(100), ...numbered(100, 150)]);
      assertEquals(kinds(node), ["disconnected 0", "reconnected 0"]);
      assertEquals(node.relay.stats, {
        published: 0,
        delivered: 200,
        lost: 0,
        reconnects: 1,
        connected: true,
      });
    }
    assertEquals(kinds(publisher), ["disconnected 0", "reconnected 50"]);
    assertEquals(publisher.events[0].message.includes(redis.url), true);
    assertEquals(publisher.relay.stats, {
      published: 200,
      delivered: 0,
      lost: 50,
      reconnects: 1,
      connected: true,
    });
  } finally {
    await Promise.all(all.map(({ relay }) => relay.close()));
  }
});

Deno.test("redisPubSub: one channel per topic, subscribed while it has local subscribers, unsubscribed with UNSUBSCRIBE, no patterns", async () => {
  await using redis = await startRedis();
  const node = startNode(redis.url, { ...OPTIONS, channelPrefix: "app:" });
  const publisher = startNode(redis.url, { ...OPTIONS, channelPrefix: "app:" });
  try {
    node.relay.subscribe("a");
    node.relay.subscribe("b");
    node.relay.subscribe("b");
    await until(async () => (await subscribers(redis, "app:a", "app:b")).join() === "1,1", "a, b");
    assertEquals((await redis.cli("PUBSUB", "CHANNELS")).sort(), ["app:a", "app:b"]);
    assertEquals(await redis.cli("PUBSUB", "NUMPAT"), ["0"]);

    node.relay.unsubscribe("a");
    node.relay.unsubscribe("a");
    node.relay.unsubscribe("never subscribed");
    await until(async () => (await subscribers(redis, "app:a", "app:b")).join() === "0,1", "b");
    assertEquals(await redis.cli("PUBSUB", "CHANNELS"), ["app:b"]);

    // Subscribed twice, unsubscribed in between: one subscription, one delivery per message.
    node.relay.subscribe("a");
    await until(async () => (await subscribers(redis, "app:a"))[0] === 1, "a again");
    await until(() => publisher.relay.stats.connected, "publisher ready");
    publisher.relay.publish("a", "text", encoder.encode("to a"), 0);
    publisher.relay.publish("b", "text", encoder.encode("to b"), 0);
    await until(() => node.messages.length === 2, "both");
    await delay(50);
    assertEquals(node.messages.map(({ topic }) => topic), ["a", "b"]);
    assertEquals(texts(node.messages), ["to a", "to b"]);
  } finally {
    await Promise.all([node.relay.close(), publisher.relay.close()]);
  }
  // Closing unsubscribes everything: the connection is gone.
  await until(async () => (await redis.cli("PUBSUB", "CHANNELS")).length === 0, "no channels");
});

Deno.test("redisPubSub: with no Redis at the URL it tells disconnected, keeps retrying without throwing, and connects once Redis is there", async () => {
  const port = freePort();
  const node = startNode(`redis://127.0.0.1:${port}`);
  try {
    node.relay.subscribe("t");
    await until(() => kinds(node).includes("disconnected 0"), "disconnected");
    assertEquals(node.events[0].message.includes("ECONNREFUSED"), true, node.events[0].message);
    node.relay.publish("t", "text", encoder.encode("into the void"), 0);
    assertEquals(node.relay.stats, {
      published: 0,
      delivered: 0,
      lost: 1,
      reconnects: 0,
      connected: false,
    });
    // Several attempts fail meanwhile; they are told once.
    await delay(600);
    assertEquals(kinds(node), ["disconnected 0"]);

    await using redis = await startRedis(port);
    await until(() => node.relay.stats.connected, "connected", 10_000);
    assertEquals(kinds(node), ["disconnected 0", "reconnected 1"]);
    assertEquals(await subscribers(redis, "wsd:t"), [1]);
    await node.relay.close();
    assertEquals(node.relay.stats.connected, false);
  } finally {
    await node.relay.close();
  }
});

Deno.test("redisPubSub: close() while it waits to retry stops every timer and socket", async () => {
  const node = startNode(`redis://127.0.0.1:${freePort()}`);
  await until(() => kinds(node).includes("disconnected 0"), "disconnected");
  await node.relay.close();
  await node.relay.close();
  // The test's sanitizers fail it if a timer or a socket outlived close().
});

Deno.test("redisPubSub: close() before start, and start twice", async () => {
  const relay = redisPubSub("redis://127.0.0.1:1");
  await relay.close();
  const started = redisPubSub(`redis://127.0.0.1:${freePort()}`);
  started.start({ onMessage: () => {}, onEvent: () => {} });
  assertThrows(() => started.start({ onMessage: () => {}, onEvent: () => {} }), Error, "already");
  await started.close();
});

Deno.test("redisPubSub: a message on the channel that is not an envelope is counted lost and told", async () => {
  await using redis = await startRedis();
  const node = startNode(redis.url);
  try {
    node.relay.subscribe("t");
    await until(async () => (await subscribers(redis, "wsd:t"))[0] === 1, "subscribed");
    await redis.cli("PUBLISH", "wsd:t", "not an envelope");
    await until(() => node.relay.stats.lost === 1, "lost");
    await delay(0);
    assertEquals(node.messages, []);
    assertEquals(
      node.events.map(({ kind, lost, message }) => [kind, lost, message]),
      [[
        "lost",
        1,
        `${redis.url}: 1 lost: a message received is not an envelope: unknown version 110 (this codec reads 1)`,
      ]],
    );
  } finally {
    await node.relay.close();
  }
});

Deno.test("redisPubSub: publishes beyond maxUnconfirmedBytes are lost, counted and told in one event", async () => {
  await using redis = await startRedis();
  const publisher = startNode(redis.url, { ...OPTIONS, maxUnconfirmedBytes: 1_000 });
  try {
    await until(() => publisher.relay.stats.connected, "ready");
    // 100-byte payloads take 111 bytes each: 9 fit in 1,000, in one turn.
    for (let i = 0; i < 100; i++) {
      publisher.relay.publish("t", "binary", new Uint8Array(100), 1);
    }
    await until(() => publisher.relay.stats.published === 9, "9 confirmed");
    assertEquals(publisher.relay.stats.lost, 91);
    assertEquals(kinds(publisher), ["lost 91"]);
    // Once confirmed, the room is there again.
    publisher.relay.publish("t", "binary", new Uint8Array(100), 1);
    await until(() => publisher.relay.stats.published === 10, "the 10th confirmed");
  } finally {
    await publisher.relay.close();
  }
});
