/**
 * The seam through which a server's topics reach other processes: a {@linkcode PubSub} relays
 * what this process publishes to every other process subscribed to the topic, and hands this
 * process what the others publish to topics it has local subscribers of.
 *
 * The server keeps its own subscribers and delivers a publish to them itself, once; the relay
 * only carries messages between processes, and never hands a process back its own publishes.
 * Two relays are provided: `localPubSub` (the workers of one process, over `BroadcastChannel`)
 * and `redisPubSub` (processes and machines, over Redis; in its own module, `./redis`).
 *
 * @module
 */

/** How a relayed payload is to be sent to WebSocket clients: in text frames, or binary ones. */
export type MessageKind = "text" | "binary";

/** Who published a relayed message: enough to leave out the publisher on the process it is on. */
export interface Origin {
  /** The {@linkcode PubSub.node} of the relay it was published through: its process or worker. */
  readonly node: string;
  /**
   * The publishing connection's id on that node, as the server there numbers its connections;
   * 0 for a publish by the server itself (`server.publish`).
   */
  readonly connection: number;
}

/** A message published on another node, handed to this one because it subscribed the topic. */
export interface RelayedMessage {
  /** The topic it was published to. */
  readonly topic: string;
  /** Text or binary. */
  readonly kind: MessageKind;
  /**
   * The payload: for text, its UTF-8 bytes, already checked to be valid UTF-8. Nothing else
   * writes to these bytes, but they may be a view into a larger buffer (for Redis, a read from
   * its socket) that holding them keeps alive: copy them to keep them long.
   */
  readonly payload: Uint8Array;
  /** Where it came from. */
  readonly origin: Origin;
}

/** What a relay tells its server, as {@linkcode PubSubEvent.kind}. */
export type PubSubEventKind =
  /** The relay lost its way to the others (or never had it); publishes are lost until it returns. */
  | "disconnected"
  /** It is back; {@linkcode PubSubEvent.lost} says how many publishes were lost meanwhile. */
  | "reconnected"
  /**
   * Messages were lost for another reason, {@linkcode PubSubEvent.lost} of them: a publish over
   * a bound, a message received that is not an envelope, a gap in what a peer sent.
   */
  | "lost"
  /**
   * A node of a `localPubSub` stopped acknowledging and is no longer waited for: it ended
   * without closing its relay, or is too busy to read.
   */
  | "peer-gone"
  /** The server's `onMessage` threw; the error is the event's `cause`. */
  | "error";

/**
 * A change of state or an error of a relay, handed to the server's `onEvent` (which a server
 * passes on to its `onError`): an `Error`, so that logging it says what happened.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PubSubEvent } from "./pubsub.ts";
 * const event = new PubSubEvent("reconnected", "redis://127.0.0.1:6379: reconnected", { lost: 3 });
 * assertEquals([event.kind, event.lost], ["reconnected", 3]);
 * ```
 */
export class PubSubEvent extends Error {
  /** What happened. */
  readonly kind: PubSubEventKind;
  /** How many messages were lost, for `reconnected` and `lost`; 0 otherwise. */
  readonly lost: number;

  /** An event of `kind`, with a `message` for people and the error that caused it, if any. */
  constructor(
    kind: PubSubEventKind,
    message: string,
    options: { lost?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "PubSubEvent";
    this.kind = kind;
    this.lost = options.lost ?? 0;
  }
}

/** The relay's counters, as {@linkcode PubSub.stats} reads them; a server shows them in its own. */
export interface PubSubStats {
  /** Publishes handed on to the others (for Redis: confirmed by it). */
  published: number;
  /** Messages from other nodes handed to `onMessage`. */
  delivered: number;
  /**
   * Messages lost: publishes not handed on (disconnected, over a bound, or unconfirmed when the
   * connection failed), and messages received that could not be delivered (not an envelope, or
   * missing from a peer's sequence).
   */
  lost: number;
  /** Times the relay got back its way to the others after losing it. */
  reconnects: number;
  /** Whether it can reach the others now. */
  connected: boolean;
}

/** What a server gives its relay once, in {@linkcode PubSub.start}. */
export interface PubSubHandlers {
  /**
   * Gets every message published on another node to a topic this node has subscribed, once, in
   * the order its publisher published it. The server delivers it to its local subscribers of
   * `message.topic`, leaving out `message.origin.connection` if that connection is one of its own.
   */
  onMessage(message: RelayedMessage): void;
  /** Gets every change of state and every error, as a {@linkcode PubSubEvent}. */
  onEvent(event: PubSubEvent): void;
}

/**
 * A relay of one server's topics to and from other processes.
 *
 * The server calls {@linkcode start} once; {@linkcode subscribe} when the first local
 * subscriber of a topic comes and {@linkcode unsubscribe} when its last one leaves;
 * {@linkcode publish} for each publish, after delivering it locally itself; {@linkcode close}
 * when it shuts down. No method throws once started (but for a `publish` whose connection id
 * is not an integer from 0 to 2^53 − 1, which only a bug would pass): failures are counted in
 * {@linkcode stats} and told to `onEvent`.
 *
 * @example A relay that relays nothing: the contract, in full
 * ```ts
 * import type { PubSub, PubSubHandlers } from "./pubsub.ts";
 * const topics = new Set<string>();
 * const none: PubSub = {
 *   node: "0000000000000000",
 *   stats: { published: 0, delivered: 0, lost: 0, reconnects: 0, connected: true },
 *   start(_handlers: PubSubHandlers) {},
 *   subscribe(topic) { topics.add(topic); },
 *   unsubscribe(topic) { topics.delete(topic); },
 *   publish() {},
 *   close: () => Promise.resolve(),
 * };
 * none.subscribe("chat");
 * ```
 */
export interface PubSub {
  /**
   * This relay's node id, 16 hex digits, random per relay: the `origin.node` of everything
   * published through it. A message carrying it is this node's own, and is never handed back.
   */
  readonly node: string;
  /** The counters, as of now. */
  readonly stats: PubSubStats;
  /**
   * Starts relaying: connects, and from then on calls `handlers.onMessage` and
   * `handlers.onEvent`. Called once.
   *
   * @throws {Error} when called a second time.
   */
  start(handlers: PubSubHandlers): void;
  /**
   * Starts receiving `topic`'s messages from other nodes: the server calls it when this node
   * gains its first subscriber of `topic`. Subscribing a topic already subscribed does nothing.
   * Messages published elsewhere before the subscription takes effect are not received.
   */
  subscribe(topic: string): void;
  /** Stops receiving `topic`'s messages: its last local subscriber left. Harmless if not subscribed. */
  unsubscribe(topic: string): void;
  /**
   * Relays one publish to the other nodes subscribed to `topic`, at most once, and never back
   * here: `payload` is the message (UTF-8 for text), `connection` the publishing connection's id
   * on this node, 0 for the server itself. It is not retried: a publish that cannot go out now
   * is counted lost. The relay copies `payload` before it returns.
   *
   * @throws {TypeError} when `connection` is not an integer from 0 to 2^53 − 1.
   */
  publish(topic: string, kind: MessageKind, payload: Uint8Array, connection: number): void;
  /** Stops relaying and releases everything it holds: connections, channels, timers. */
  close(): Promise<void>;
}
