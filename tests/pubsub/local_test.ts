import { assertEquals, assertThrows } from "@std/assert";
import { encodeEnvelope } from "../../src/pubsub/envelope.ts";
import { localPubSub, WINDOW_BUDGET } from "../../src/pubsub/local.ts";
import type { PubSub, PubSubEvent, RelayedMessage } from "../../src/pubsub/pubsub.ts";
import { delay, withTimeout } from "../helpers/client.ts";
import { runToEnd } from "../helpers/process.ts";
import { IMPORT_MAP, RUNTIMES } from "../helpers/server.ts";
import { AFTER, BURST, type Outcome } from "./local_workers.ts";

const ROOT = new URL("../../", import.meta.url);
const BUN_OFFLINE = new URL("tests/bun_offline.ts", ROOT).pathname;
const LOCAL_WORKERS = new URL("local_workers.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A started relay on channel `name` and what it received and was told. */
interface Node {
  relay: PubSub;
  messages: RelayedMessage[];
  events: PubSubEvent[];
}

function startNode(name: string): Node {
  const node: Node = { relay: localPubSub(name), messages: [], events: [] };
  node.relay.start({
    onMessage: (message) => node.messages.push(message),
    onEvent: (event) => node.events.push(event),
  });
  return node;
}

/** Polls until `done()`; fails naming `what` after a few seconds. */
async function until(done: () => boolean, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!done()) await delay(5);
    })(),
    what,
    5_000,
  );
}

const texts = (node: Node) => node.messages.map(({ payload }) => decoder.decode(payload));
const numbered = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => String(from + i));

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] localPubSub between 3 workers: bursts of ${BURST} arrive whole, in order; a worker gone without closing is waited for no longer; one that closed is not waited for`, async () => {
    // Deno needs to read the workers' modules; the relay itself needs no permission.
    const [program, ...runtimeArgs] = runtime === "deno"
      ? [Deno.execPath(), "run", "--allow-read", `--import-map=${IMPORT_MAP}`]
      : ["bun", `--preload=${BUN_OFFLINE}`];
    const command = new Deno.Command(program, {
      args: [...runtimeArgs, LOCAL_WORKERS],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await runToEnd(command, "local_workers.ts", 60_000);
    assertEquals(code, 0, stderr);
    const outcome: Outcome = JSON.parse(stdout);
    const [node0, node1, node2] = outcome.nodes;
    const all = { count: 1, inOrder: true };
    for (const report of outcome.afterBursts) {
      const others = [0, 1, 2].filter((i) => i !== report.index);
      assertEquals(
        report.received,
        Object.fromEntries(others.flatMap((i) => [
          [`sync ${i}`, all],
          [`t ${i}`, { count: BURST, inOrder: true }],
        ])),
      );
      assertEquals(report.stats, {
        published: 1 + BURST,
        delivered: 2 * (1 + BURST),
        lost: 0,
        reconnects: 0,
        connected: true,
      });
      assertEquals(report.events, []);
    }
    const [publisher, subscriber] = outcome.afterTerminate;
    assertEquals(subscriber.received["t 0"], { count: BURST + AFTER, inOrder: true });
    assertEquals(subscriber.stats.lost, 0);
    assertEquals(publisher.stats.published, 1 + BURST + AFTER);
    assertEquals(publisher.events.map(({ kind }) => kind), ["peer-gone"]);
    assertEquals(publisher.events[0].message.includes(`node ${node2} was silent`), true);
    assertEquals([node0, node1].some((node) => publisher.events[0].message.includes(node)), false);
    // Node 1 said bye: node 0 publishes on without waiting for it, and tells nothing new.
    assertEquals(outcome.afterClose.stats.published, 1 + BURST + 2 * AFTER);
    assertEquals(outcome.afterClose.stats.lost, 0);
    assertEquals(outcome.afterClose.events, publisher.events);
  });
}

Deno.test("localPubSub: a publish reaches every other subscribed relay once, in order, never its own", async () => {
  const name = crypto.randomUUID();
  const [a, b, c] = [startNode(name), startNode(name), startNode(name)];
  try {
    for (const node of [a, b, c]) node.relay.subscribe("t");
    // One message from each first, so that each knows the others before the burst.
    for (const node of [a, b, c]) node.relay.subscribe("sync");
    for (const node of [a, b, c]) node.relay.publish("sync", "text", encoder.encode("-"), 0);
    await until(() => [a, b, c].every(({ messages }) => messages.length === 2), "the sync");
    for (const node of [a, b, c]) node.messages.length = 0;
    const count = 4 * WINDOW_BUDGET;
    for (let i = 0; i < count; i++) {
      a.relay.publish("t", "text", encoder.encode(String(i)), i + 1);
    }
    await until(() => b.messages.length === count && c.messages.length === count, "the burst");
    for (const node of [b, c]) {
      assertEquals(texts(node), numbered(count));
      assertEquals(
        node.messages.map(({ origin }) => origin.connection),
        numbered(count, 1).map(Number),
      );
      assertEquals(
        new Set(node.messages.map(({ origin }) => origin.node)),
        new Set([a.relay.node]),
      );
      assertEquals(
        new Set(node.messages.map(({ topic, kind }) => `${topic} ${kind}`)),
        new Set(["t text"]),
      );
    }
    await delay(20);
    assertEquals(a.messages, []);
    assertEquals(a.relay.stats.published, 1 + count);
    assertEquals(b.relay.stats.delivered, 2 + count);
    for (const node of [a, b, c]) assertEquals(node.events, []);
  } finally {
    await Promise.all([a, b, c].map(({ relay }) => relay.close()));
  }
});

Deno.test("localPubSub: binary payloads arrive as bytes, marked binary", async () => {
  const name = crypto.randomUUID();
  const [a, b] = [startNode(name), startNode(name)];
  try {
    b.relay.subscribe("t");
    a.relay.publish("t", "binary", new Uint8Array([0, 0xff, 0xc0]), 9);
    await until(() => b.messages.length === 1, "the message");
    assertEquals(b.messages[0].kind, "binary");
    assertEquals(b.messages[0].payload, new Uint8Array([0, 0xff, 0xc0]));
    assertEquals(b.messages[0].origin, { node: a.relay.node, connection: 9 });
  } finally {
    await Promise.all([a.relay.close(), b.relay.close()]);
  }
});

Deno.test("localPubSub: unsubscribe stops delivery; subscribing twice delivers once", async () => {
  const name = crypto.randomUUID();
  const [a, b] = [startNode(name), startNode(name)];
  try {
    b.relay.subscribe("t");
    b.relay.subscribe("t");
    b.relay.subscribe("other");
    a.relay.publish("t", "text", encoder.encode("1"), 0);
    a.relay.publish("other", "text", encoder.encode("x"), 0);
    await until(() => b.messages.length === 2, "two messages");
    b.relay.unsubscribe("t");
    b.relay.unsubscribe("t");
    a.relay.publish("t", "text", encoder.encode("2"), 0);
    a.relay.publish("other", "text", encoder.encode("y"), 0);
    await until(() => b.messages.length === 3, "the third message");
    await delay(20);
    assertEquals(b.messages.map(({ topic }) => topic), ["t", "other", "other"]);
    assertEquals(texts(b), ["1", "x", "y"]);
  } finally {
    await Promise.all([a.relay.close(), b.relay.close()]);
  }
});

Deno.test("localPubSub: a publish before start or after close is counted lost and told, not thrown", async () => {
  const relay = localPubSub(crypto.randomUUID());
  relay.publish("t", "text", encoder.encode("early"), 0);
  assertEquals(relay.stats.lost, 1);
  const events: PubSubEvent[] = [];
  relay.start({ onMessage: () => {}, onEvent: (event) => events.push(event) });
  assertThrows(() => relay.start({ onMessage: () => {}, onEvent: () => {} }), Error, "already");
  await relay.close();
  await relay.close();
  relay.publish("t", "text", encoder.encode("late"), 0);
  relay.publish("t", "text", encoder.encode("late"), 0);
  await delay(0);
  assertEquals(relay.stats.lost, 3);
  assertEquals(relay.stats.connected, false);
  // The loss before start is told once started, in its own event: its reason differs.
  assertEquals(events.map(({ kind, lost }) => `${kind} ${lost}`), ["lost 1", "lost 2"]);
});

Deno.test("localPubSub: what is not an envelope, and a gap in a peer's numbers, are counted lost and told", async () => {
  const name = crypto.randomUUID();
  const node = startNode(name);
  const channel = new BroadcastChannel(name);
  try {
    node.relay.subscribe("t");
    const from = (sequence: number) =>
      encodeEnvelope({
        kind: "text",
        origin: { node: "00000000000000aa", connection: 0 },
        topic: "t",
        sequence,
        payload: encoder.encode(String(sequence)),
      });
    channel.postMessage(from(10).buffer);
    channel.postMessage(from(11).buffer);
    channel.postMessage(from(15).buffer);
    channel.postMessage(new Uint8Array([7, 7, 7]).buffer);
    channel.postMessage("a string");
    // Peers post an envelope's ArrayBuffer; a Uint8Array is none of theirs.
    channel.postMessage(from(16));
    await until(() => node.relay.stats.lost === 6, "six lost");
    assertEquals(texts(node), ["10", "11", "15"]);
    await delay(0);
    assertEquals(
      node.events.map(({ kind, lost, message }) => [kind, lost, message]),
      [
        ["lost", 3, `BroadcastChannel "${name}": 3 lost: messages the channel dropped on the way`],
        [
          "lost",
          1,
          `BroadcastChannel "${name}": 1 lost: a message received is not an envelope: unknown version 7 (this codec reads 1)`,
        ],
        [
          "lost",
          2,
          `BroadcastChannel "${name}": 2 lost: a message on the channel is neither an envelope nor a control message`,
        ],
      ],
    );
  } finally {
    channel.close();
    await node.relay.close();
  }
});
