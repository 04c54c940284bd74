/**
 * {@linkcode redisPubSub}: a {@linkcode PubSub} over Redis, relaying a server's topics between
 * processes and machines. Nothing else in the server imports this module, so a server that does
 * not relay over Redis loads no Redis code; it is its own entry point, `@wsd/server/redis`.
 *
 * The client is node-redis (`@redis/client`, the core of the `redis` package without its
 * modules for RedisJSON, search and the like, which load 100 ms slower and go unused here).
 * On these machines, with 7 subscribers and a publisher at 200 messages/s and Redis killed
 * with -9 and restarted, it resubscribed every time, its first message arriving 0.09–0.87 s
 * after a 1 s outage, with a backoff doubling from 50 ms to 2 s; it moved ~738k 64-byte
 * messages/s on Deno and 693k on Bun in that test (this relay adds little to the client's own
 * cost: `bench/pubsub_bench.ts`);
 * Deno needs no more than `--allow-net` and `--allow-env=REDIS_DEBUG_MAINTENANCE` for it.
 * ioredis lost about 3 times more after a 5 s outage (its backoff reaches 5 s), wants all of
 * `--allow-env`, and took 321k/s; Bun's own `RedisClient` never restores its subscriptions
 * after a reconnect, and runs on Bun only.
 *
 * Even so, this relay does not trust any client's resubscription (node-redis #2823 and
 * socket.io #4845 are regressions of it): a connection that fails is dropped with its
 * subscriber, and after a backoff a new pair connects and subscribes every topic itself.
 *
 * @example
 * ```ts ignore
 * import { serve } from "jsr:@wsd/server";
 * import { redisPubSub } from "jsr:@wsd/server/redis";
 * serve({ port: 8000, pubsub: redisPubSub("redis://127.0.0.1:6379") }, (message) => message);
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createClient } from "@redis/client";
import { encodeEnvelope } from "./envelope.ts";
import type { MessageKind, PubSub, PubSubHandlers, PubSubStats } from "./pubsub.ts";
import { Relay } from "./relay.ts";

// This module is an entry point of its own: it documents the seam redisPubSub() returns.
export * from "./pubsub.ts";

/** Options of {@linkcode redisPubSub}. */
export interface RedisPubSubOptions {
  /**
   * What every Redis channel name starts with: topic `t` is channel `${channelPrefix}t`, so that
   * servers sharing a Redis with other users of it keep to their own channels.
   *
   * @default {"wsd:"}
   */
  channelPrefix?: string;
  /**
   * The longest wait between attempts to reconnect. The wait doubles from 50 ms up to this,
   * plus up to 200 ms at random so that many servers do not reconnect in step (node-redis's own
   * schedule).
   *
   * @default {2000}
   */
  maxReconnectDelayMs?: number;
  /**
   * The most bytes of publishes sent to Redis and not yet confirmed by it; a publish beyond it
   * is lost. It bounds the memory a stalled Redis (or a connection dead without a reset) can
   * take; at the default, a burst of ~30,000 1 KiB publishes in one turn still goes out whole.
   *
   * @default {32 MiB}, Redis's own hard limit for one subscriber's output buffer
   */
  maxUnconfirmedBytes?: number;
}

/** How long {@linkcode PubSub.close} waits for Redis to confirm what was published already. */
const CLOSE_DRAIN_MS = 1_000;
const FIRST_RECONNECT_DELAY_MS = 50;
const RECONNECT_JITTER_MS = 200;

type Client = ReturnType<typeof newClient>;

/** A connection to publish on and one alike to subscribe on: they fail and return together. */
interface Link {
  publisher: Client;
  subscriber: Client;
}

/**
 * A relay over the Redis at `url` (`redis://[user:password@]host:port[/db]`, or `rediss://`
 * for TLS): one Redis channel per topic, subscribed while this node has local subscribers of
 * it, messages as binary envelopes. It connects on `start()`.
 *
 * While Redis is reachable, each publish reaches every other subscribed node once, in the order
 * of its publisher. While it is not, publishes are counted lost rather than queued (at most once
 * across an outage: queued messages would arrive late, to subscribers that may not have
 * resubscribed yet); the relay reconnects with a capped backoff, resubscribes every topic, and
 * tells `onEvent` it was `disconnected`, then `reconnected` with how many publishes were lost.
 *
 * @example
 * ```ts ignore
 * import { redisPubSub } from "./redis.ts";
 * const pubsub = redisPubSub("redis://127.0.0.1:6379", { channelPrefix: "chat:" });
 * pubsub.start({ onMessage: (message) => console.log(message), onEvent: console.error });
 * pubsub.subscribe("room-1");
 * pubsub.publish("room-1", "text", new TextEncoder().encode("hello"), 0);
 * await pubsub.close();
 * ```
 */
export function redisPubSub(url: string, options: RedisPubSubOptions = {}): PubSub {
  return new RedisPubSub(url, options);
}

class RedisPubSub implements PubSub {
  readonly #relay: Relay;
  readonly #url: string;
  readonly #prefix: string;
  readonly #maxReconnectDelayMs: number;
  readonly #maxUnconfirmedBytes: number;
  /** The connections of now, connecting or ready; none while waiting to reconnect, or closed. */
  #link?: Link;
  #ready = false;
  #closed = false;
  #retry?: ReturnType<typeof setTimeout>;
  /** Attempts failed since the last that succeeded: the backoff's exponent. */
  #failures = 0;
  #unconfirmedBytes = 0;

  constructor(url: string, options: RedisPubSubOptions) {
    this.#url = url;
    this.#relay = new Relay(redactPassword(url));
    this.#prefix = options.channelPrefix ?? "wsd:";
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs ?? 2_000;
    this.#maxUnconfirmedBytes = options.maxUnconfirmedBytes ?? 32 * 1024 * 1024;
  }

  get node(): string {
    return this.#relay.node;
  }

  get stats(): PubSubStats {
    return { ...this.#relay.stats };
  }

  start(handlers: PubSubHandlers): void {
    this.#relay.start(handlers);
    this.#connect();
  }

  subscribe(topic: string): void {
    if (this.#relay.topics.has(topic)) return;
    this.#relay.topics.add(topic);
    // While not ready, the next link subscribes every topic as it opens.
    if (this.#ready && this.#link) this.#subscribeOn(this.#link, topic);
  }

  unsubscribe(topic: string): void {
    if (!this.#relay.topics.delete(topic)) return;
    const link = this.#link;
    if (!this.#ready || !link) return;
    // What arrives before Redis has unsubscribed is not delivered: the topic is gone above.
    link.subscriber.unsubscribe(this.#prefix + topic).catch((error) => this.#failed(link, error));
  }

  publish(topic: string, kind: MessageKind, payload: Uint8Array, connection: number): void {
    const link = this.#link;
    if (!this.#ready || !link) {
      this.#relay.lose(1, "publishes while not connected to Redis");
      return;
    }
    // node-redis takes a Buffer, not a Uint8Array; allocUnsafe draws small ones from a pool,
    // several times faster on Deno than a buffer of their own.
    const message = encodeEnvelope(
      { kind, origin: { node: this.node, connection }, payload },
      (size) => Buffer.allocUnsafe(size),
    );
    const size = message.length;
    if (this.#unconfirmedBytes + size > this.#maxUnconfirmedBytes) {
      this.#relay.lose(1, `publishes over maxUnconfirmedBytes (${this.#maxUnconfirmedBytes})`);
      return;
    }
    this.#unconfirmedBytes += size;
    link.publisher.publish(this.#prefix + topic, message).then(
      () => {
        this.#unconfirmedBytes -= size;
        this.#relay.stats.published++;
      },
      () => {
        this.#unconfirmedBytes -= size;
        this.#relay.lose(1, "publishes Redis had not confirmed when the connection failed");
      },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    const link = this.#link;
    const wasReady = this.#ready;
    this.#link = undefined;
    this.#ready = false;
    this.#relay.stats.connected = false;
    if (!link) return;
    link.subscriber.destroy();
    if (wasReady) {
      // close() waits for the replies to what was sent; a Redis that stops answering gets
      // CLOSE_DRAIN_MS, then the connection is dropped and the rest counted lost.
      let deadline: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        link.publisher.close().catch(() => {}),
        new Promise((resolve) => deadline = setTimeout(resolve, CLOSE_DRAIN_MS)),
      ]);
      clearTimeout(deadline);
    }
    link.publisher.destroy();
  }

  /** Opens a new pair of connections; on success, subscribes every topic on it. */
  #connect(): void {
    const publisher = newClient(this.#url);
    const subscriber = newClient(this.#url);
    const link: Link = { publisher, subscriber };
    this.#link = link;
    const failed = (error: unknown) => this.#failed(link, error);
    // node-redis emits "error" for every socket error; without a listener it would throw.
    publisher.on("error", failed);
    subscriber.on("error", failed);
    Promise.all([publisher.connect(), subscriber.connect()]).then(() => this.#opened(link), failed);
  }

  async #opened(link: Link): Promise<void> {
    if (link !== this.#link) return;
    this.#ready = true;
    this.#failures = 0;
    await Promise.all([...this.#relay.topics].map((topic) => this.#subscribeOn(link, topic)));
    // Told once every topic is subscribed again, so "reconnected" means receiving again.
    if (link === this.#link) this.#relay.connected();
  }

  #subscribeOn(link: Link, topic: string): Promise<void> {
    // A plain Uint8Array over the Buffer's bytes: a Buffer's slice() would be a view, not a copy.
    const receive = (message: Buffer) =>
      this.#relay.receive(
        new Uint8Array(message.buffer, message.byteOffset, message.byteLength),
        topic,
      );
    return link.subscriber.subscribe(this.#prefix + topic, receive, true)
      .catch((error) => this.#failed(link, error));
  }

  /** Drops `link` if it is the current one, tells the server, and reconnects after a backoff. */
  #failed(link: Link, error: unknown): void {
    if (link !== this.#link) return;
    this.#link = undefined;
    this.#ready = false;
    link.publisher.destroy();
    link.subscriber.destroy();
    this.#relay.disconnected(error);
    const backoff = Math.min(
      FIRST_RECONNECT_DELAY_MS * 2 ** this.#failures++,
      this.#maxReconnectDelayMs,
    );
    this.#retry = setTimeout(() => this.#connect(), backoff + Math.random() * RECONNECT_JITTER_MS);
  }
}

/**
 * A node-redis client of `url`, not connected yet, that never reconnects by itself: a failed
 * pair is dropped and a new one made by the relay, so that every subscription is the relay's
 * own, and close() can cancel the wait between attempts (node-redis sleeps on a timer nothing
 * can clear). No offline queue and no per-command timeout (a timer per publish): a publish
 * goes out now, or is lost.
 */
function newClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    socket: { reconnectStrategy: false },
  });
}

/** The URL as it may be shown in messages: without its password. */
function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href.replace(/\/$/, "");
  } catch {
    return url;
  }
}
