/**
 * One node of `local_workers.ts`, run as a Web Worker: a `localPubSub` that the main thread
 * commands with messages ({@linkcode Command}), subscribed to `t`, keeping what it receives from
 * each publisher and whether that came in order.
 *
 * Payloads are `"<publisher index> <i>"`, published with connection id `i + 1`, so that each
 * message says who sent it, its place in its publisher's order, and the origin to expect.
 */

import { localPubSub } from "../../src/pubsub/local.ts";
import type { PubSub, PubSubEvent, RelayedMessage } from "../../src/pubsub/pubsub.ts";

/** What the main thread asks of a node; each is answered with one message. */
export type Command =
  | { command: "start"; index: number; name: string; peerTimeoutMs: number }
  | { command: "burst"; topic: string; count: number }
  | { command: "expect"; topic: string; from: number[]; count: number }
  | { command: "published"; count: number }
  | { command: "report" }
  | { command: "close" };

/** What a node received from one publisher on one topic. */
export interface Received {
  count: number;
  /** Every message was the one after the last, and its origin's connection id matched. */
  inOrder: boolean;
}

/** The answer to `report`. */
export interface Report {
  index: number;
  node: string;
  /** By `"<topic> <publisher index>"`. */
  received: Record<string, Received>;
  stats: PubSub["stats"];
  events: { kind: PubSubEvent["kind"]; message: string; lost: number }[];
}

const worker = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<Command>) => void) | null;
};
const decoder = new TextDecoder();
const encoder = new TextEncoder();
let index = -1;
let relay: PubSub | undefined;
const received: Record<string, Received> = {};
const events: Report["events"] = [];
/** Messages published so far, by topic: bursts go on numbering where the last one stopped. */
const sent: Record<string, number> = {};
/** Called after every message received, until it returns true. */
let waiting: (() => boolean) | undefined;

function onMessage({ topic, payload, origin }: RelayedMessage): void {
  const [publisher, i] = decoder.decode(payload).split(" ").map(Number);
  const entry = received[`${topic} ${publisher}`] ??= { count: 0, inOrder: true };
  if (i !== entry.count || origin.connection !== i + 1) entry.inOrder = false;
  entry.count++;
  if (waiting?.()) waiting = undefined;
}

function receivedAll(topic: string, from: number[], count: number): boolean {
  return from.every((publisher) => (received[`${topic} ${publisher}`]?.count ?? 0) >= count);
}

worker.onmessage = async ({ data }) => {
  switch (data.command) {
    case "start":
      index = data.index;
      relay = localPubSub(data.name, { peerTimeoutMs: data.peerTimeoutMs });
      relay.start({
        onMessage,
        onEvent: ({ kind, message, lost }: PubSubEvent) => events.push({ kind, message, lost }),
      });
      relay.subscribe("sync");
      relay.subscribe("t");
      return worker.postMessage({ started: index, node: relay.node });
    case "burst": {
      // All in one turn, as a server relaying a burst of client messages would.
      for (let n = 0; n < data.count; n++) {
        const i = sent[data.topic] = (sent[data.topic] ?? -1) + 1;
        relay!.publish(data.topic, "text", encoder.encode(`${index} ${i}`), i + 1);
      }
      return worker.postMessage({ burst: index });
    }
    case "expect": {
      const { topic, from, count } = data;
      if (receivedAll(topic, from, count)) return worker.postMessage({ expected: index });
      waiting = () => {
        if (!receivedAll(topic, from, count)) return false;
        worker.postMessage({ expected: index });
        return true;
      };
      return;
    }
    case "published":
      // Polled: publishes leave the queue as acknowledgements come, not as messages arrive.
      while (relay!.stats.published < data.count) await new Promise((r) => setTimeout(r, 10));
      return worker.postMessage({ published: index });
    case "report": {
      const report: Report = { index, node: relay!.node, received, stats: relay!.stats, events };
      return worker.postMessage(report);
    }
    case "close":
      await relay!.close();
      return worker.postMessage({ closed: index });
  }
};
