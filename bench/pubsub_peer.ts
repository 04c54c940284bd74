/**
 * One side of `pubsub_bench.ts`, on whichever runtime runs it:
 *
 * - `pubsub_peer.ts subscribe <url> <topic>` subscribes through `redisPubSub` and counts what
 *   arrives until an empty message, then prints `{ count, ms, lost }`: the messages, and the
 *   time from the first to the last.
 * - `pubsub_peer.ts publish <url> <topic> <bytes> <seconds> <inFlight>` publishes binary
 *   messages of `<bytes>` for `<seconds>`, keeping at most `<inFlight>` unconfirmed by Redis,
 *   then the empty one, and prints `{ published, ms, lost }`.
 */

import { redisPubSub } from "../src/pubsub/redis.ts";
import { runtime } from "../src/runtime/mod.ts";

const [role, url, topic, bytes, seconds, inFlight] = runtime.args();
const relay = redisPubSub(url);
const done = Promise.withResolvers<void>();
const yieldTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

if (role === "subscribe") {
  let count = 0;
  let first = 0;
  let last = 0;
  relay.start({
    onMessage({ payload }) {
      if (payload.length === 0) return done.resolve();
      last = performance.now();
      if (count++ === 0) first = last;
    },
    onEvent: (event) => console.error(event.message),
  });
  relay.subscribe(topic);
  await done.promise;
  console.log(JSON.stringify({ count, ms: last - first, lost: relay.stats.lost }));
} else {
  relay.start({ onMessage() {}, onEvent: (event) => console.error(event.message) });
  while (!relay.stats.connected) await yieldTurn();
  const payload = crypto.getRandomValues(new Uint8Array(Number(bytes)));
  const start = performance.now();
  const end = start + Number(seconds) * 1_000;
  let sent = 0;
  while (performance.now() < end) {
    while (sent - relay.stats.published < Number(inFlight)) {
      relay.publish(topic, "binary", payload, 1);
      sent++;
    }
    await yieldTurn();
  }
  while (relay.stats.published + relay.stats.lost < sent) await yieldTurn();
  const ms = performance.now() - start;
  relay.publish(topic, "binary", new Uint8Array(), 1);
  while (relay.stats.published + relay.stats.lost <= sent) await yieldTurn();
  console.log(JSON.stringify({ published: relay.stats.published - 1, ms, lost: relay.stats.lost }));
}
await relay.close();
