/**
 * {@linkcode localPubSub}: a {@linkcode PubSub} between the workers of one process, over one
 * `BroadcastChannel` (no flag needed on Deno or Bun): N workers serving one port with
 * `reusePort` share their topics through it without Redis.
 *
 * Deno's `BroadcastChannel` holds about 256 messages for the whole process, and a worker that
 * falls further behind silently loses the oldest (measured on Deno 2.9: of 1,000 posted in one
 * turn, another worker received 701; Bun lost none). So the relay keeps its own flow control:
 *
 * - Every data message carries its publisher's sequence number. A node acknowledges a
 *   publisher every {@linkcode ACK_EVERY} messages it received from it, and counts a gap in
 *   the numbers as lost.
 * - A publisher keeps at most a window of messages unacknowledged by its slowest peer (the
 *   process's budget, {@linkcode WINDOW_BUDGET}, shared by all nodes) and queues the rest, up to
 *   `maxQueuedBytes`; beyond that, publishes are lost.
 * - A publisher stalled on a peer asks for acknowledgements; a peer silent for `peerTimeoutMs`
 *   is no longer waited for (a worker that ended without closing its relay, or one too busy to
 *   read), and `onEvent` is told `peer-gone`.
 *
 * Nodes find each other with `hello` when they start and leave with `bye` when they close.
 * Data messages are envelopes posted as the `ArrayBuffer` of exactly their bytes:
 * `BroadcastChannel` cannot transfer, it always copies (a view into a larger buffer would copy
 * the whole buffer), and an `ArrayBuffer` copies faster than a `Uint8Array` over it (measured
 * with 27- and 1,035-byte envelopes between two workers: on Bun 230k/s against 170k/s and 150k/s
 * against 120k/s; on Deno 67k/s against 59k/s and 13.5k/s either way).
 *
 * @module
 */

import { encodeEnvelope } from "./envelope.ts";
import type { MessageKind, PubSub, PubSubHandlers, PubSubStats } from "./pubsub.ts";
import { Relay } from "./relay.ts";

/** Options of {@linkcode localPubSub}. */
export interface LocalPubSubOptions {
  /**
   * The most bytes of envelopes queued while the window is full; a publish beyond it is lost.
   *
   * @default {8 MiB}
   */
  maxQueuedBytes?: number;
  /**
   * How long a peer that holds the window up may stay silent before it is no longer waited for.
   *
   * @default {2000}
   */
  peerTimeoutMs?: number;
}

/**
 * A node acknowledges a publisher after this many messages from it. Every window is at least
 * twice as large, so an acknowledgement always comes before the publisher must wait for one.
 */
export const ACK_EVERY = 16;
/**
 * The messages all publishers together may have unacknowledged: 256 in Deno's channel, less
 * room for acknowledgements and for anything else the process posts.
 */
export const WINDOW_BUDGET = 192;
/** How often a stalled publisher asks its peers for acknowledgements. */
const STALL_CHECK_MS = 100;

/** The messages that are not data, posted as plain objects. */
type Control =
  | { hello: string }
  | { bye: string }
  | { ask: string }
  | { ack: string; to: string; sequence: number };

/** A node this one publishes to. */
interface Peer {
  /** The highest sequence number of ours it acknowledged (or ours when it arrived). */
  acked: number;
  /** When it was last heard from, `performance.now()`. */
  heardAt: number;
}

/** What this node has received from one publisher. */
interface Seen {
  sequence: number;
  acked: number;
}

/**
 * A relay between the workers (and the main thread) of this process that use the same `name`.
 * Within a process, each publish reaches every other subscribed node once, in its publisher's
 * order; what is lost all the same (over the queue's bound, or dropped by the channel) is
 * counted and told to `onEvent`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { localPubSub } from "./local.ts";
 * const [a, b] = [localPubSub("example"), localPubSub("example")];
 * const received = Promise.withResolvers<string>();
 * a.start({ onMessage: () => {}, onEvent: () => {} });
 * b.start({ onMessage: (m) => received.resolve(new TextDecoder().decode(m.payload)), onEvent: () => {} });
 * b.subscribe("chat");
 * a.publish("chat", "text", new TextEncoder().encode("hi"), 0);
 * assertEquals(await received.promise, "hi");
 * await Promise.all([a.close(), b.close()]);
 * ```
 */
export function localPubSub(name = "wsd", options: LocalPubSubOptions = {}): PubSub {
  return new LocalPubSub(name, options);
}

class LocalPubSub implements PubSub {
  readonly #relay: Relay;
  readonly #name: string;
  readonly #maxQueuedBytes: number;
  readonly #peerTimeoutMs: number;
  #channel?: BroadcastChannel;
  /** The last sequence number given to a publish, and the last one posted. */
  #sequence = 0;
  #posted = 0;
  /** Envelopes numbered `#posted + 1` … `#sequence`, from `#queueHead` on. */
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #peers = new Map<string, Peer>();
  #seen = new Map<string, Seen>();
  #stallTimer?: ReturnType<typeof setTimeout>;

  constructor(name: string, options: LocalPubSubOptions) {
    this.#name = name;
    this.#relay = new Relay(`BroadcastChannel "${name}"`);
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.#peerTimeoutMs = options.peerTimeoutMs ?? 2_000;
  }

  get node(): string {
    return this.#relay.node;
  }

  get stats(): PubSubStats {
    return { ...this.#relay.stats };
  }

  start(handlers: PubSubHandlers): void {
    this.#relay.start(handlers);
    const channel = new BroadcastChannel(this.#name);
    channel.onmessage = (event) => this.#receive(event.data);
    channel.onmessageerror = () => this.#relay.lose(1, "a message that could not be read");
    this.#channel = channel;
    this.#post({ hello: this.node });
    this.#relay.connected();
  }

  subscribe(topic: string): void {
    this.#relay.topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.#relay.topics.delete(topic);
  }

  publish(topic: string, kind: MessageKind, payload: Uint8Array, connection: number): void {
    if (!this.#channel) {
      this.#relay.lose(1, "publishes while not started or closed");
      return;
    }
    const envelope = (sequence: number) =>
      encodeEnvelope({ kind, origin: { node: this.node, connection }, topic, sequence, payload });
    if (this.#queueHead === this.#queue.length && this.#posted < this.#limit()) {
      this.#sequence = ++this.#posted;
      this.#postData(envelope(this.#posted));
      return;
    }
    const bytes = envelope(this.#sequence + 1);
    if (this.#queuedBytes + bytes.length > this.#maxQueuedBytes) {
      this.#relay.lose(1, `publishes over maxQueuedBytes (${this.#maxQueuedBytes})`);
      return;
    }
    this.#sequence++;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    this.#watchStall();
  }

  close(): Promise<void> {
    const channel = this.#channel;
    if (!channel) return Promise.resolve();
    this.#post({ bye: this.node });
    channel.close();
    this.#channel = undefined;
    clearTimeout(this.#stallTimer);
    const queued = this.#queue.length - this.#queueHead;
    if (queued > 0) this.#relay.lose(queued, "publishes still queued when the relay closed");
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#relay.stats.connected = false;
    return Promise.resolve();
  }

  /**
   * The sequence number up to which envelopes may be posted now: what every peer acknowledged,
   * plus this publisher's share of {@linkcode WINDOW_BUDGET} (never under twice
   * {@linkcode ACK_EVERY}). Without peers, nothing holds publishes back.
   */
  #limit(): number {
    if (this.#peers.size === 0) return Infinity;
    let acked = this.#posted;
    for (const peer of this.#peers.values()) acked = Math.min(acked, peer.acked);
    return acked + Math.max(2 * ACK_EVERY, Math.floor(WINDOW_BUDGET / (this.#peers.size + 1)));
  }

  #receive(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      const envelope = this.#relay.receive(new Uint8Array(data));
      if (envelope?.sequence !== undefined) this.#count(envelope.origin.node, envelope.sequence);
      return;
    }
    const control = data as Record<string, unknown> | null;
    if (typeof control?.hello === "string") return this.#hello(control.hello);
    if (typeof control?.bye === "string") return this.#bye(control.bye);
    if (typeof control?.ask === "string") return this.#ask(control.ask);
    if (
      typeof control?.ack === "string" && typeof control.to === "string" &&
      typeof control.sequence === "number"
    ) {
      return this.#ack(control.ack, control.to, control.sequence);
    }
    this.#relay.lose(1, "a message on the channel is neither an envelope nor a control message");
  }

  /** Notes message `sequence` from `publisher`: counts a gap as lost, acknowledges in steps. */
  #count(publisher: string, sequence: number): void {
    this.#peer(publisher);
    let seen = this.#seen.get(publisher);
    if (!seen) {
      // The first message from it since this node started: nothing before it is missing.
      seen = { sequence: sequence - 1, acked: sequence - 1 };
      this.#seen.set(publisher, seen);
    }
    if (sequence > seen.sequence + 1) {
      this.#relay.lose(sequence - seen.sequence - 1, "messages the channel dropped on the way");
    }
    seen.sequence = Math.max(seen.sequence, sequence);
    if (seen.sequence - seen.acked >= ACK_EVERY) this.#acknowledge(publisher, seen);
  }

  #acknowledge(publisher: string, seen: Seen): void {
    seen.acked = seen.sequence;
    this.#post({ ack: this.node, to: publisher, sequence: seen.sequence });
  }

  #hello(node: string): void {
    const known = this.#peers.has(node);
    this.#peer(node);
    // Answered, so that the newcomer knows this node too; known nodes are not answered again.
    if (!known) this.#post({ hello: this.node });
  }

  #bye(node: string): void {
    this.#peers.delete(node);
    this.#seen.delete(node);
    this.#flush();
  }

  #ask(publisher: string): void {
    this.#peer(publisher);
    const seen = this.#seen.get(publisher);
    // A node that received nothing from the publisher still shows it is alive.
    if (seen) this.#acknowledge(publisher, seen);
    else this.#post({ hello: this.node });
  }

  #ack(from: string, to: string, sequence: number): void {
    const peer = this.#peer(from);
    if (to !== this.node) return;
    peer.acked = Math.max(peer.acked, Math.min(sequence, this.#posted));
    this.#flush();
  }

  /** The peer `node`, heard from now; a node not known yet starts with everything acknowledged. */
  #peer(node: string): Peer {
    let peer = this.#peers.get(node);
    if (!peer) {
      peer = { acked: this.#posted, heardAt: 0 };
      this.#peers.set(node, peer);
    }
    peer.heardAt = performance.now();
    return peer;
  }

  /** Posts queued envelopes while the window allows. */
  #flush(): void {
    const limit = this.#limit();
    while (this.#queueHead < this.#queue.length && this.#posted < limit) {
      const bytes = this.#queue[this.#queueHead++];
      this.#queuedBytes -= bytes.length;
      this.#posted++;
      this.#postData(bytes);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** While envelopes wait, asks for acknowledgements, and gives up on peers silent too long. */
  #watchStall(): void {
    if (this.#stallTimer !== undefined) return;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      if (!this.#channel || this.#queueHead === this.#queue.length) return;
      const now = performance.now();
      for (const [node, peer] of this.#peers) {
        if (peer.acked >= this.#posted || now - peer.heardAt < this.#peerTimeoutMs) continue;
        this.#peers.delete(node);
        this.#relay.emit(
          "peer-gone",
          `${this.#relay.name}: node ${node} was silent for ${this.#peerTimeoutMs} ms;` +
            ` no longer waited for, so ${this.#posted - peer.acked} messages may not reach it`,
        );
      }
      this.#flush();
      if (this.#queueHead < this.#queue.length) {
        this.#post({ ask: this.node });
        this.#watchStall();
      }
    }, STALL_CHECK_MS);
  }

  /** Posts an envelope's bytes, which encodeEnvelope() gave a buffer of their own. */
  #postData(bytes: Uint8Array): void {
    this.#channel!.postMessage(bytes.buffer);
    this.#relay.stats.published++;
  }

  #post(control: Control): void {
    this.#channel?.postMessage(control);
  }
}
