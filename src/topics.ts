/**
 * The topics of one server: who is subscribed to what, and a publish, framed once and queued for
 * every subscriber of its topic here, and handed to the relay (`pubsub/`) for the subscribers of
 * other processes.
 *
 * @module
 */

import { Opcode } from "./protocol/frame.ts";
import type { Message } from "./protocol/message.ts";
import { PreparedMessage } from "./protocol/prepared_message.ts";
import type { PubSub, PubSubEvent, PubSubStats } from "./pubsub/pubsub.ts";

/** What a topic's subscriber is to the topics: a connection that takes prepared messages. */
export interface Subscriber {
  /**
   * Queues a message framed for many, under the connection's slow-consumer policy; false when it
   * was dropped (the peer too far behind, or the connection closing).
   */
  deliver(message: PreparedMessage, compress: boolean): boolean;
}

/**
 * A server's counters of its topics, as `server.stats` reads them.
 *
 * @example
 * ```ts
 * import type { TopicStats } from "./topics.ts";
 * const lossless = (stats: TopicStats) => stats.dropped === 0;
 * ```
 */
export interface TopicStats {
  /** Publishes made on this server (`server.publish`, `connection.publish`). */
  published: number;
  /** Messages queued for subscribers here: each publish counts once per subscriber it reached. */
  delivered: number;
  /** Messages not queued for a subscriber here because it was too far behind, or closing. */
  dropped: number;
  /** The relay's own counters, when the server has one (`pubsub`); undefined otherwise. */
  pubsub?: PubSubStats;
}

/**
 * Options of a publish: `compress: false` sends the message uncompressed to every subscriber,
 * also where permessage-deflate was agreed (for data that does not compress, such as images).
 *
 * @example
 * ```ts ignore
 * server.publish("video", frameBytes, { compress: false });
 * ```
 */
export interface PublishOptions {
  /** Whether subscribers that agreed on compression get it compressed. @default {true} */
  compress?: boolean;
}

/**
 * Who is subscribed to what on one server, and publishing to them. A message published to a
 * topic is framed once (and compressed once, where permessage-deflate keeps no context) and the
 * same bytes are queued for every subscriber, in the order published. A subscriber that is too
 * far behind is dealt with by its own slow-consumer policy; the publisher and the others never
 * wait for it.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Topics } from "./topics.ts";
 * const got: Uint8Array[] = [];
 * const subscriber = { deliver: (message: { frame(): Uint8Array }) => (got.push(message.frame()), true) };
 * const topics = new Topics<typeof subscriber>();
 * topics.subscribe(subscriber, "news");
 * assertEquals(topics.publish("news", "hi"), 1);
 * assertEquals(got, [new Uint8Array([0x81, 0x02, 0x68, 0x69])]);
 * ```
 */
export class Topics<S extends Subscriber> {
  readonly #subscribers = new Map<string, Set<S>>();
  readonly #topicsOf = new Map<S, Set<string>>();
  /** Each publishing subscriber's number, for the relay's origin; 0 is the server itself. */
  readonly #numbers = new WeakMap<S, number>();
  #nextNumber = 1;
  readonly #pubsub: PubSub | null;
  readonly #stats = { published: 0, delivered: 0, dropped: 0 };

  /**
   * Creates the topics of a server; with `pubsub`, publishes also go to the other processes that
   * share it, and theirs come here. `onEvent` hears what the relay reports.
   */
  constructor(pubsub?: PubSub, onEvent: (event: PubSubEvent) => void = () => {}) {
    this.#pubsub = pubsub ?? null;
    this.#pubsub?.start({
      onMessage: ({ topic, kind, payload }) => {
        const opcode = kind === "text" ? Opcode.Text : Opcode.Binary;
        this.#deliver(topic, new PreparedMessage(opcode, payload), undefined, true);
      },
      onEvent,
    });
  }

  /** The counters, as of now. */
  get stats(): TopicStats {
    const stats: TopicStats = { ...this.#stats };
    if (this.#pubsub) stats.pubsub = { ...this.#pubsub.stats };
    return stats;
  }

  /** Subscribes `subscriber` to `topic`; again is harmless. */
  subscribe(subscriber: S, topic: string): void {
    checkTopic(topic);
    let subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined) {
      this.#subscribers.set(topic, subscribers = new Set());
      this.#pubsub?.subscribe(topic);
    }
    subscribers.add(subscriber);
    let topics = this.#topicsOf.get(subscriber);
    if (topics === undefined) this.#topicsOf.set(subscriber, topics = new Set());
    topics.add(topic);
  }

  /** Unsubscribes `subscriber` from `topic`, if it was subscribed. */
  unsubscribe(subscriber: S, topic: string): void {
    checkTopic(topic);
    const topics = this.#topicsOf.get(subscriber);
    if (!topics?.delete(topic)) return;
    if (topics.size === 0) this.#topicsOf.delete(subscriber);
    this.#leave(subscriber, topic);
  }

  /** Unsubscribes `subscriber` from every topic: its connection has ended. */
  leaveAll(subscriber: S): void {
    const topics = this.#topicsOf.get(subscriber);
    if (topics === undefined) return;
    this.#topicsOf.delete(subscriber);
    for (const topic of topics) this.#leave(subscriber, topic);
  }

  /** Whether `subscriber` is subscribed to `topic`. */
  isSubscribed(subscriber: S, topic: string): boolean {
    return this.#topicsOf.get(subscriber)?.has(topic) ?? false;
  }

  /** The topics `subscriber` is subscribed to, in the order it subscribed. */
  subscriptionsOf(subscriber: S): string[] {
    return [...this.#topicsOf.get(subscriber) ?? []];
  }

  /** How many subscribers `topic` has on this server. */
  subscriberCount(topic: string): number {
    return this.#subscribers.get(topic)?.size ?? 0;
  }

  /**
   * Publishes `message` to every subscriber of `topic` but `except` (the publishing connection,
   * as a connection's own publish leaves it out), here and through the relay, and returns how
   * many subscribers here it was queued for. That number says nothing of other processes, and a
   * low one is no failure to retry: those it reached have it.
   */
  publish(topic: string, message: Message, except?: S, options: PublishOptions = {}): number {
    checkTopic(topic);
    const prepared = PreparedMessage.of(message);
    this.#stats.published++;
    const delivered = this.#deliver(topic, prepared, except, options.compress ?? true);
    if (this.#pubsub) {
      const origin = except === undefined ? 0 : this.#number(except);
      const kind = prepared.opcode === Opcode.Text ? "text" : "binary";
      this.#pubsub.publish(topic, kind, prepared.payload, origin);
    }
    return delivered;
  }

  /** Stops relaying; the server's connections have ended. */
  close(): Promise<void> {
    return this.#pubsub?.close() ?? Promise.resolve();
  }

  #deliver(topic: string, message: PreparedMessage, except: S | undefined, compress: boolean) {
    const subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined) return 0;
    let delivered = 0;
    for (const subscriber of subscribers) {
      if (subscriber === except) continue;
      if (subscriber.deliver(message, compress)) delivered++;
      else this.#stats.dropped++;
    }
    this.#stats.delivered += delivered;
    return delivered;
  }

  #leave(subscriber: S, topic: string): void {
    const subscribers = this.#subscribers.get(topic);
    if (!subscribers?.delete(subscriber) || subscribers.size > 0) return;
    this.#subscribers.delete(topic);
    this.#pubsub?.unsubscribe(topic);
  }

  #number(subscriber: S): number {
    let number = this.#numbers.get(subscriber);
    if (number === undefined) this.#numbers.set(subscriber, number = this.#nextNumber++);
    return number;
  }
}

/** @throws {TypeError} for a topic that is not a string. */
function checkTopic(topic: unknown): void {
  if (typeof topic !== "string") throw new TypeError(`a topic is a string, not ${typeof topic}`);
}
