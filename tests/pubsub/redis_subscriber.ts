/**
 * A subscriber in a process of its own, for `redis_test.ts`: `redis_subscriber.ts <url> <topic>
 * <publishers>` subscribes `<topic>` through `redisPubSub`, and counts what each publisher
 * (by origin node) sends. Payloads are `"<i>"`, published with connection id `i + 1`; a
 * publisher's last message is `"end"`, which Redis delivers after all its others. Once it has
 * the end of `<publishers>` publishers, it prints one JSON line, {@linkcode SubscriberReport},
 * closes the relay and exits.
 */

import { redisPubSub } from "../../src/pubsub/redis.ts";
import type { RelayedMessage } from "../../src/pubsub/pubsub.ts";
import { runtime } from "../../src/runtime/mod.ts";

/** What the subscriber received from each publisher, by its node. */
export interface SubscriberReport {
  received: Record<string, { count: number; inOrder: boolean }>;
  lost: number;
  events: string[];
}

const [url, topic, publishers] = runtime.args();
const decoder = new TextDecoder();
const report: SubscriberReport = { received: {}, lost: 0, events: [] };
let ended = 0;
const done = Promise.withResolvers<void>();

function onMessage({ payload, origin }: RelayedMessage): void {
  const text = decoder.decode(payload);
  const entry = report.received[origin.node] ??= { count: 0, inOrder: true };
  if (text === "end") {
    if (++ended === Number(publishers)) done.resolve();
    return;
  }
  if (Number(text) !== entry.count || origin.connection !== entry.count + 1) {
    entry.inOrder = false;
  }
  entry.count++;
}

const relay = redisPubSub(url);
relay.start({
  onMessage,
  onEvent: (event) => report.events.push(`${event.kind}: ${event.message}`),
});
relay.subscribe(topic);
await done.promise;
report.lost = relay.stats.lost;
console.log(JSON.stringify(report));
await relay.close();
