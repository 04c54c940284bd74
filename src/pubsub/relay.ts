/**
 * What every relay does the same way, whatever carries its bytes: its node id, the topics it is
 * subscribed to, its counters, turning received bytes into {@linkcode RelayedMessage}s (leaving
 * out its own and malformed ones), and telling the server about losses and its connection
 * state. `redis.ts` and `local.ts` are transports around one {@linkcode Relay} each.
 *
 * @module
 */

import { decodeEnvelope, type Envelope, EnvelopeError } from "./envelope.ts";
import {
  PubSubEvent,
  type PubSubEventKind,
  type PubSubHandlers,
  type PubSubStats,
} from "./pubsub.ts";

/**
 * The shared part of a relay.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeEnvelope } from "./envelope.ts";
 * import { Relay } from "./relay.ts";
 * const received: string[] = [];
 * const relay = new Relay("example");
 * relay.start({ onMessage: (m) => received.push(m.topic), onEvent: () => {} });
 * relay.topics.add("chat");
 * const other = new Relay("other");
 * const bytes = encodeEnvelope({
 *   kind: "text",
 *   origin: { node: other.node, connection: 1 },
 *   payload: new Uint8Array(),
 * });
 * relay.receive(bytes, "chat");
 * assertEquals(received, ["chat"]);
 * ```
 */
export class Relay {
  /** A random node id, 16 hex digits: 64 bits make two relays sharing one by chance negligible. */
  readonly node: string = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  /** The counters, updated in place. */
  readonly stats: PubSubStats = {
    published: 0,
    delivered: 0,
    lost: 0,
    reconnects: 0,
    connected: false,
  };
  /** The topics subscribed: those with local subscribers, as the server said. */
  readonly topics: Set<string> = new Set();
  /** Who this relay is in messages: its URL or channel name. */
  readonly name: string;
  #handlers?: PubSubHandlers;
  /** Whether the server was told `disconnected` and not yet `reconnected`. */
  #down = false;
  #lostWhileDown = 0;
  /** Losses counted in this turn and not yet reported, by reason: one event per reason. */
  #unreported = new Map<string, number>();

  /** A relay named `name` in what it reports. */
  constructor(name: string) {
    this.name = name;
  }

  /**
   * Takes the server's handlers.
   *
   * @throws {Error} when it already has them.
   */
  start(handlers: PubSubHandlers): void {
    if (this.#handlers) throw new Error(`${this.name}: start() was already called`);
    this.#handlers = handlers;
  }

  /**
   * Decodes `bytes`, received for `topic` (or for the topic they carry), and hands the message
   * to `onMessage` if it is another node's and its topic is subscribed. Returns the envelope if
   * it is another node's, delivered or not; counts and reports bytes that are no envelope.
   */
  receive(bytes: Uint8Array, topic?: string): Envelope | undefined {
    const envelope = decodeEnvelope(bytes);
    if (envelope instanceof EnvelopeError) {
      this.lose(1, `a message received is not an envelope: ${envelope.message}`);
      return undefined;
    }
    // Its own publish, which the server has delivered here already.
    if (envelope.origin.node === this.node) return undefined;
    const messageTopic = topic ?? envelope.topic;
    if (messageTopic === undefined) {
      this.lose(1, "a message received names no topic");
      return undefined;
    }
    if (!this.topics.has(messageTopic) || !this.#handlers) return envelope;
    this.stats.delivered++;
    try {
      this.#handlers.onMessage({
        topic: messageTopic,
        kind: envelope.kind,
        payload: envelope.payload,
        origin: envelope.origin,
      });
    } catch (error) {
      this.emit("error", `${this.name}: onMessage threw`, { cause: error });
    }
    return envelope;
  }

  /**
   * Counts `count` messages lost for `reason`. While disconnected they are told with
   * `reconnected`; otherwise one `lost` event per reason at the end of this turn tells them all,
   * so that a burst of losses is one event, not one per message.
   */
  lose(count: number, reason: string): void {
    this.stats.lost += count;
    if (this.#down) {
      this.#lostWhileDown += count;
      return;
    }
    const before = this.#unreported.get(reason);
    this.#unreported.set(reason, (before ?? 0) + count);
    if (this.#unreported.size === 1 && before === undefined) {
      queueMicrotask(() => this.#reportLost());
    }
  }

  /** The way to the others is open (again); tells `reconnected` if `disconnected` was told. */
  connected(): void {
    this.stats.connected = true;
    if (!this.#down) return;
    this.#down = false;
    this.stats.reconnects++;
    const lost = this.#lostWhileDown;
    this.#lostWhileDown = 0;
    this.emit(
      "reconnected",
      `${this.name}: reconnected; ${lost} ${lost === 1 ? "publish" : "publishes"} lost meanwhile`,
      { lost },
    );
  }

  /** The way to the others is lost; tells `disconnected`, once until it is back. */
  disconnected(cause: unknown): void {
    this.stats.connected = false;
    if (this.#down) return;
    this.#down = true;
    this.emit(
      "disconnected",
      `${this.name}: disconnected (${describe(cause)}); publishes are lost until it reconnects`,
      { cause },
    );
  }

  /** Tells the server an event, which its handler must not throw; if it does, says so. */
  emit(
    kind: PubSubEventKind,
    message: string,
    options: { lost?: number; cause?: unknown } = {},
  ): void {
    const event = new PubSubEvent(kind, message, options);
    try {
      this.#handlers?.onEvent(event);
    } catch (error) {
      console.error("PubSub onEvent threw:", error, "while reporting:", event);
    }
  }

  #reportLost(): void {
    const unreported = [...this.#unreported];
    this.#unreported.clear();
    for (const [reason, lost] of unreported) {
      this.emit("lost", `${this.name}: ${lost} lost: ${reason}`, { lost });
    }
  }
}

/** A cause in a few words: an error's message, or the value itself. */
function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message || cause.name : String(cause);
}
