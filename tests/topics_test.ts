import { assertEquals, assertThrows } from "@std/assert";
import { Opcode } from "../src/protocol/frame.ts";
import type { PreparedMessage } from "../src/protocol/prepared_message.ts";
import type { PubSub, PubSubHandlers } from "../src/pubsub/pubsub.ts";
import { Topics } from "../src/topics.ts";

/** A subscriber that records the frames it is given, or refuses them (a slow consumer). */
class Recorder {
  readonly frames: Uint8Array[] = [];
  accepting = true;
  constructor(readonly name: string) {}
  deliver(message: PreparedMessage): boolean {
    if (!this.accepting) return false;
    this.frames.push(message.frame());
    return true;
  }
  texts(): string[] {
    return this.frames.map((frame) => new TextDecoder().decode(frame.subarray(2)));
  }
}

/** A relay that records what it is told and lets the test hand it messages from elsewhere. */
function recordingRelay() {
  const calls: string[] = [];
  let handlers: PubSubHandlers | undefined;
  const relay: PubSub = {
    node: "0000000000000001",
    stats: { published: 0, delivered: 0, lost: 0, reconnects: 0, connected: true },
    start: (given) => void (handlers = given),
    subscribe: (topic) => void calls.push(`subscribe ${topic}`),
    unsubscribe: (topic) => void calls.push(`unsubscribe ${topic}`),
    publish: (topic, kind, payload, connection) =>
      void calls.push(
        `publish ${topic} ${kind} ${new TextDecoder().decode(payload)} ${connection}`,
      ),
    close: () => Promise.resolve(void calls.push("close")),
  };
  return { relay, calls, handlers: () => handlers! };
}

Deno.test("topics: a publish reaches every subscriber of its topic once, in the order published", () => {
  const topics = new Topics<Recorder>();
  const [a, b, c] = [new Recorder("a"), new Recorder("b"), new Recorder("c")];
  topics.subscribe(a, "news");
  topics.subscribe(b, "news");
  topics.subscribe(b, "news"); // Twice is harmless.
  topics.subscribe(c, "sport");
  for (let i = 0; i < 5; i++) topics.publish("news", `n${i}`);
  assertEquals([a.texts(), b.texts(), c.texts()], [
    ["n0", "n1", "n2", "n3", "n4"],
    ["n0", "n1", "n2", "n3", "n4"],
    [],
  ]);
  assertEquals(topics.subscriberCount("news"), 2);
});

Deno.test("topics: every subscriber is given the very same frame: framed once", () => {
  const topics = new Topics<Recorder>();
  const subscribers = Array.from({ length: 3 }, (_, i) => new Recorder(`${i}`));
  for (const subscriber of subscribers) topics.subscribe(subscriber, "t");
  topics.publish("t", new Uint8Array([1, 2, 3]));
  const [first] = subscribers[0].frames;
  assertEquals(first, new Uint8Array([0x82, 0x03, 1, 2, 3]));
  for (const subscriber of subscribers) assertEquals(subscriber.frames[0] === first, true);
});

Deno.test("topics: a connection's publish leaves it out, and needs no subscription of its own", () => {
  const topics = new Topics<Recorder>();
  const [publisher, other, outsider] = [new Recorder("p"), new Recorder("o"), new Recorder("x")];
  topics.subscribe(publisher, "room");
  topics.subscribe(other, "room");
  assertEquals(topics.publish("room", "hello", publisher), 1);
  assertEquals(topics.publish("room", "from outside", outsider), 2);
  assertEquals([publisher.texts(), other.texts()], [["from outside"], ["hello", "from outside"]]);
});

Deno.test("topics: a subscriber too far behind is counted as dropped and holds up no one", () => {
  const topics = new Topics<Recorder>();
  const [slow, fast] = [new Recorder("slow"), new Recorder("fast")];
  topics.subscribe(slow, "t");
  topics.subscribe(fast, "t");
  slow.accepting = false;
  assertEquals(topics.publish("t", "x"), 1);
  assertEquals(fast.texts(), ["x"]);
  assertEquals(topics.stats, { published: 1, delivered: 1, dropped: 1 });
});

Deno.test("topics: unsubscribing and leaving all keep the counts right; subscriptions list in order", () => {
  const topics = new Topics<Recorder>();
  const a = new Recorder("a");
  topics.subscribe(a, "x");
  topics.subscribe(a, "y");
  topics.subscribe(a, "z");
  assertEquals(topics.subscriptionsOf(a), ["x", "y", "z"]);
  topics.unsubscribe(a, "y");
  topics.unsubscribe(a, "never");
  assertEquals([topics.isSubscribed(a, "x"), topics.isSubscribed(a, "y")], [true, false]);
  topics.leaveAll(a);
  assertEquals([
    topics.subscriptionsOf(a),
    topics.subscriberCount("x"),
    topics.subscriberCount("z"),
  ], [
    [],
    0,
    0,
  ]);
  topics.leaveAll(a);
});

Deno.test("topics: a topic that is not a string is refused", () => {
  const topics = new Topics<Recorder>();
  assertThrows(() => topics.subscribe(new Recorder("a"), 7 as unknown as string), TypeError);
  assertThrows(() => topics.publish(null as unknown as string, "x"), TypeError);
});

Deno.test("topics: the relay is subscribed while a topic has subscribers here, and gets every publish with its origin", async () => {
  const { relay, calls } = recordingRelay();
  const topics = new Topics<Recorder>(relay);
  const [a, b] = [new Recorder("a"), new Recorder("b")];
  topics.subscribe(a, "t");
  topics.subscribe(b, "t");
  topics.publish("t", "one");
  topics.publish("t", "two", a);
  topics.publish("t", new Uint8Array([0x33]), b);
  topics.publish("elsewhere", "nobody here");
  topics.unsubscribe(a, "t");
  topics.leaveAll(b);
  await topics.close();
  assertEquals(calls, [
    "subscribe t",
    "publish t text one 0",
    "publish t text two 1",
    "publish t binary 3 2",
    "publish elsewhere text nobody here 0",
    "unsubscribe t",
    "close",
  ]);
});

Deno.test("topics: what other processes publish reaches the subscribers here, framed as text or binary", () => {
  const { relay, handlers } = recordingRelay();
  const topics = new Topics<Recorder>(relay);
  const a = new Recorder("a");
  topics.subscribe(a, "t");
  const origin = { node: "0000000000000002", connection: 5 };
  handlers().onMessage({
    topic: "t",
    kind: "text",
    payload: new TextEncoder().encode("hi"),
    origin,
  });
  handlers().onMessage({ topic: "t", kind: "binary", payload: new Uint8Array([9]), origin });
  handlers().onMessage({ topic: "other", kind: "text", payload: new Uint8Array(), origin });
  assertEquals(a.frames, [
    new Uint8Array([0x81, 0x02, 0x68, 0x69]),
    new Uint8Array([0x82, 0x01, 9]),
  ]);
  assertEquals(a.frames.map((frame) => frame[0] & 0x0f), [Opcode.Text, Opcode.Binary]);
});
