import { assertEquals, assertThrows } from "@std/assert";
import { encodeEnvelope } from "../../src/pubsub/envelope.ts";
import type { PubSubEvent, RelayedMessage } from "../../src/pubsub/pubsub.ts";
import { Relay } from "../../src/pubsub/relay.ts";

const encoder = new TextEncoder();
const OTHER = "00000000000000ff";

function started(name = "relay") {
  const relay = new Relay(name);
  const messages: RelayedMessage[] = [];
  const events: PubSubEvent[] = [];
  relay.start({
    onMessage: (message) => messages.push(message),
    onEvent: (event) => events.push(event),
  });
  return { relay, messages, events };
}

const envelope = (node: string, text = "hi") =>
  encodeEnvelope({ kind: "text", origin: { node, connection: 3 }, payload: encoder.encode(text) });

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("relay: node ids are 16 hex digits, one of their own per relay", () => {
  const ids = new Set(Array.from({ length: 100 }, () => new Relay("r").node));
  assertEquals(ids.size, 100);
  for (const id of ids) assertEquals(/^[0-9a-f]{16}$/.test(id), true, id);
});

Deno.test("relay: hands on another node's message to a subscribed topic, with its origin", () => {
  const { relay, messages } = started();
  relay.topics.add("t");
  relay.receive(envelope(OTHER), "t");
  assertEquals(messages, [{
    topic: "t",
    kind: "text",
    payload: encoder.encode("hi"),
    origin: { node: OTHER, connection: 3 },
  }]);
  assertEquals(relay.stats.delivered, 1);
});

Deno.test("relay: its own messages and unsubscribed topics are not handed on, nor counted lost", () => {
  const { relay, messages, events } = started();
  relay.topics.add("t");
  assertEquals(relay.receive(envelope(relay.node), "t"), undefined);
  assertEquals(relay.receive(envelope(OTHER), "other")?.origin.node, OTHER);
  assertEquals(messages, []);
  assertEquals([relay.stats.delivered, relay.stats.lost, events.length], [0, 0, 0]);
});

Deno.test("relay: losses of one reason in one turn are told in one event", async () => {
  const { relay, events } = started("r");
  for (let i = 0; i < 1_000; i++) relay.lose(1, "over a bound");
  relay.receive(new Uint8Array([9]), "t");
  assertEquals(events, []);
  await turn();
  assertEquals(events.map(({ kind, lost, message }) => [kind, lost, message]), [
    ["lost", 1_000, "r: 1000 lost: over a bound"],
    [
      "lost",
      1,
      "r: 1 lost: a message received is not an envelope: unknown version 9 (this codec reads 1)",
    ],
  ]);
  assertEquals(relay.stats.lost, 1_001);
});

Deno.test("relay: disconnected is told once; losses meanwhile are told with reconnected", async () => {
  const { relay, events } = started("r");
  relay.connected();
  assertEquals(events, []);
  relay.disconnected(new Error("ECONNREFUSED"));
  relay.disconnected(new Error("ECONNREFUSED again"));
  relay.lose(7, "not connected");
  await turn();
  relay.connected();
  assertEquals(events.map(({ kind, lost, message }) => [kind, lost, message]), [
    ["disconnected", 0, "r: disconnected (ECONNREFUSED); publishes are lost until it reconnects"],
    ["reconnected", 7, "r: reconnected; 7 publishes lost meanwhile"],
  ]);
  assertEquals((events[0].cause as Error).message, "ECONNREFUSED");
  assertEquals(relay.stats, {
    published: 0,
    delivered: 0,
    lost: 7,
    reconnects: 1,
    connected: true,
  });
});

Deno.test("relay: one publish lost meanwhile is told in the singular", async () => {
  const { relay, events } = started("r");
  relay.connected();
  relay.disconnected(new Error("ECONNRESET"));
  relay.lose(1, "not connected");
  await turn();
  relay.connected();
  assertEquals(events.at(-1)?.message, "r: reconnected; 1 publish lost meanwhile");
});

Deno.test("relay: an onMessage that throws is told as an error; the next message still comes", () => {
  const relay = new Relay("r");
  const events: PubSubEvent[] = [];
  let calls = 0;
  relay.start({
    onMessage: () => {
      if (++calls === 1) throw new Error("handler bug");
    },
    onEvent: (event) => events.push(event),
  });
  relay.topics.add("t");
  relay.receive(envelope(OTHER), "t");
  relay.receive(envelope(OTHER), "t");
  assertEquals(calls, 2);
  assertEquals(events.map(({ kind, message }) => [kind, message]), [[
    "error",
    "r: onMessage threw",
  ]]);
  assertEquals((events[0].cause as Error).message, "handler bug");
});

Deno.test("relay: an onEvent that throws is logged, not thrown", () => {
  const relay = new Relay("r");
  relay.start({
    onMessage: () => {},
    onEvent: () => {
      throw new Error("onEvent bug");
    },
  });
  const logged: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    relay.disconnected("gone");
  } finally {
    console.error = consoleError;
  }
  assertEquals(logged.length, 1);
  assertEquals(logged[0][0], "PubSub onEvent threw:");
});

Deno.test("relay: start twice throws", () => {
  const { relay } = started("r");
  assertThrows(
    () => relay.start({ onMessage() {}, onEvent() {} }),
    Error,
    "r: start() was already called",
  );
});
