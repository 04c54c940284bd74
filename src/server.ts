/**
 * `serve()`: listens, hands each accepted TCP connection to its HTTP side (`http_connection.ts`),
 * runs every WebSocket that comes of it, and keeps count of them for the limits, the stats and a
 * graceful shutdown; with `workers`, starts its copies on the other threads (`workers.ts`).
 *
 * @module
 */

import { HttpConnection, type Slots } from "./http_connection.ts";
import { CloseCode } from "./protocol/close_code.ts";
import { ConnectionClosedError, HandshakeError } from "./protocol/errors.ts";
import { runtime } from "./runtime/mod.ts";
import { localPubSub } from "./pubsub/local.ts";
import { type ServeOptions, type ServerSettings, serverSettings } from "./serve_options.ts";
import type { Message } from "./protocol/message.ts";
import type { PublishOptions, TopicStats } from "./topics.ts";
import type { Traffic } from "./traffic.ts";
import { closeQuietly, type Listener, type NetAddress, type Transport } from "./transport.ts";
import type { Handler, StreamHandler, WebSocketConnection } from "./websocket.ts";
import { Watchdog, watchdogPeriod } from "./watchdog.ts";
import { followPrimary, workerCount, Workers, workerSetup } from "./workers.ts";

export type { ServeOptions };

/**
 * A server's counters, as {@linkcode Server.stats} reads them.
 *
 * @example
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * const server = serve({ port: 0 }, (message) => message);
 * const { connections, messagesIn, bytesOut } = server.stats;
 * ```
 */
export interface ServerStats extends Traffic {
  /** WebSockets open now. */
  connections: number;
  /** WebSockets opened since the server started. */
  connectionsOpened: number;
  /** Topics: publishes, and the messages queued for subscribers here or dropped. */
  topics: TopicStats;
}

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * const server = serve({ port: 0 }, (message) => message);
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export interface Server {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddress;
  /**
   * Resolves once the server listens: at once, or with `workers`, once every copy does (or has
   * failed to, which `onError` hears).
   */
  readonly ready: Promise<void>;
  /** Resolves once the server has stopped and every connection has ended. */
  readonly finished: Promise<void>;
  /** The counters, as of now: connections, and messages and bytes both ways. */
  readonly stats: ServerStats;
  /**
   * Publishes `message` (a string as text, bytes as binary) to every subscriber of `topic`, on
   * this server and on every process that shares its `pubsub`. It is framed once, and compressed
   * once for the subscribers that agreed on permessage-deflate without context takeover. Each
   * subscriber gets one publisher's messages to a topic in the order published, once; one too
   * far behind is handled by its slow-consumer policy, and never holds up the others. Returns how
   * many subscribers on this server it was queued for: not a result to retry on, as every
   * subscriber counted has it.
   *
   * @throws {TypeError} for a topic that is not a string.
   */
  publish(topic: string, message: Message, options?: PublishOptions): number;
  /** How many connections of this server are subscribed to `topic`. */
  subscriberCount(topic: string): number;
  /**
   * Stops accepting, closes every WebSocket with 1001 (waiting up to `closeTimeoutMs` for each
   * close handshake), and resolves once all connections have ended.
   */
  shutdown(): Promise<void>;
}

/**
 * Serves WebSockets, and plain HTTP on the same port: every message goes to `handler` (a function
 * whose return is sent back, or a {@linkcode StreamHandler}; without one, each connection is read
 * in `onOpen`), and every request that is not an upgrade to `options.fetch`.
 *
 * @throws {ListenError} when the address cannot be listened on (the port is taken, say).
 * @throws {TypeError} for options that cannot go together, or a `TransformStream` as `handler`
 * (give `{ stream: () => new TransformStream(…) }`, which makes one for each connection).
 *
 * @example An echo server on a free port
 * ```ts
 * import { serve } from "./server.ts";
 * const server = serve({ port: 0, hostname: "127.0.0.1" }, (message) => message);
 * const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
 * const reply = await new Promise((resolve) => {
 *   socket.onopen = () => socket.send("hi");
 *   socket.onmessage = (event) => resolve(event.data);
 * });
 * socket.close();
 * await server.shutdown();
 * console.log(reply); // "hi"
 * ```
 *
 * @example A Hono app with a WebSocket route, on one port
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Hono } from "hono";
 * import { connect } from "./client.ts";
 * import type { FetchInfo } from "./fetch_handler.ts";
 * import { serve } from "./server.ts";
 *
 * // The second argument of fetch, which Hono hands its routes as c.env, can upgrade.
 * const app = new Hono<{ Bindings: FetchInfo<{ room: string }> }>();
 * app.get("/", (c) => c.text("hello from Hono"));
 * app.post("/echo", async (c) => c.json(await c.req.json()));
 * app.get("/rooms/:room", (c) => c.env.upgrade(c.req.raw, { data: { room: c.req.param("room") } }));
 *
 * const server = serve(
 *   { port: 0, hostname: "127.0.0.1", fetch: app.fetch, fetchUpgrades: true },
 *   (message, connection) => `${connection.data.room}: ${message}`,
 * );
 * const base = `127.0.0.1:${server.addr.port}`;
 *
 * assertEquals(await (await fetch(`http://${base}/`)).text(), "hello from Hono");
 * const posted = await fetch(`http://${base}/echo`, { method: "POST", body: '{"a":1}' });
 * assertEquals(await posted.json(), { a: 1 });
 *
 * const connection = await connect(`ws://${base}/rooms/lobby`);
 * await connection.send("hi");
 * assertEquals(await connection.receive(), "lobby: hi");
 * await connection.close();
 * await server.shutdown();
 * ```
 *
 * @example A streams pipeline: each connection's messages through a TransformStream
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WebSocketStream } from "./websocket_stream.ts";
 * import { serve } from "./server.ts";
 *
 * // The server: a TransformStream per connection (its messages in, what comes out sent).
 * const server = serve({ port: 0, hostname: "127.0.0.1" }, {
 *   stream: () =>
 *     new TransformStream({
 *       transform(message, out) {
 *         if (typeof message === "string") out.enqueue(message.toUpperCase());
 *       },
 *     }),
 * });
 *
 * // The client: a pipeline too, from an array of messages to an array of replies.
 * const wss = new WebSocketStream(`ws://127.0.0.1:${server.addr.port}/`);
 * const { readable, writable } = await wss.opened;
 * await ReadableStream.from(["one", "two"]).pipeTo(writable, { preventClose: true });
 * const replies = [];
 * for await (const reply of readable) {
 *   replies.push(reply);
 *   if (replies.length === 2) break; // leaving the loop cancels readable: the connection closes
 * }
 * assertEquals(replies, ["ONE", "TWO"]);
 * await wss.closed;
 * await server.shutdown();
 * ```
 */
export function serve<Data = undefined>(
  options: ServeOptions<Data>,
  handler?: Handler<Data> | StreamHandler<Data>,
): Server {
  // A worker a primary started serves beside it on its port: see workers.ts.
  const setup = workerSetup();
  const copies = setup ? 1 : workerCount(options.workers);
  const sharing = setup !== null || copies > 1;
  const group = setup?.group ?? `@wsd/server ${crypto.randomUUID()}`;
  // Workers relay their topics to each other unless the application chose a relay.
  const pubsub = options.pubsub ?? (sharing ? localPubSub(group) : undefined);
  const settings = serverSettings({ ...options, pubsub }, handler);
  const address = setup ? { hostname: settings.hostname, port: setup.port } : settings;
  const listener = runtime.listen(address, settings.tls, sharing);
  let workers: Workers | null = null;
  if (copies > 1) {
    const { port } = listener.addr;
    try {
      const mainModule = runtime.mainModule().href;
      workers = new Workers(
        copies - 1,
        { port, args: runtime.args(), mainModule, group },
        settings.onError,
      );
    } catch (error) {
      listener.close();
      throw error;
    }
  }
  let workersStopped: Promise<void> | undefined;
  const http = new Set<HttpConnection<Data>>();
  // One sweep over the HTTP connections' deadlines, as over the WebSockets' (see watchdog.ts).
  const httpPeriod = watchdogPeriod([
    settings.handshakeTimeoutMs,
    settings.keepAliveTimeoutMs,
    settings.closeTimeoutMs,
  ]);
  const httpWatchdog = httpPeriod === null
    ? null
    : new Watchdog<HttpConnection<Data>>(httpPeriod, (connection, now) => connection.check(now));
  const open = new Set<WebSocketConnection>();
  let stopping = false;
  // Transports not yet ended, and a promise made once shutdown waits for them.
  let active = 0;
  let allEnded: PromiseWithResolvers<void> | undefined;
  const ended = () => {
    if (--active === 0) allEnded?.resolve();
  };
  // WebSockets open or being decided, against maxConnections.
  let slotsTaken = 0;
  const slots: Slots = {
    take() {
      if (slotsTaken >= settings.maxConnections) {
        throw new HandshakeError(503, "too many connections");
      }
      slotsTaken++;
    },
    release() {
      slotsTaken--;
    },
  };
  let connectionsOpened = 0;
  settings.onEnd = (connection) => {
    open.delete(connection);
    slots.release();
    ended();
    const onClose = settings.onClose;
    if (onClose === undefined) return;
    connection.closed.then((info) => onClose(connection as WebSocketConnection<Data>, info))
      .catch((error) => settings.onError(error, connection));
  };

  // Only the HTTP side is awaited here; an upgraded connection runs on by itself and reports its
  // end through onEnd, so an idle connection holds no waiting function of the server's.
  const onTransport = async (transport: Transport) => {
    active++;
    // Its requests, within their deadlines (see HttpConnection), until it ends or upgrades.
    const incoming = new HttpConnection(transport, settings, slots, httpWatchdog);
    http.add(incoming);
    try {
      const upgraded = await incoming.serve();
      if (upgraded === null) return ended();
      const { connection, rest, buffer } = upgraded;
      open.add(connection);
      connectionsOpened++;
      opened(connection, settings, stopping);
      connection.run(rest, buffer);
    } catch (error) {
      settings.onError(error);
      ended();
    } finally {
      http.delete(incoming);
    }
  };

  const finished = (async () => {
    await acceptLoop(listener, settings.onError, () => stopping, onTransport);
    if (active > 0) {
      allEnded = Promise.withResolvers();
      await allEnded.promise;
    }
    await workersStopped;
    await settings.topics.close();
  })();

  const server: Server = {
    addr: listener.addr,
    ready: workers?.listening() ?? Promise.resolve(),
    finished,
    get stats(): ServerStats {
      const { traffic, topics } = settings;
      return { connections: open.size, connectionsOpened, ...traffic!, topics: topics.stats };
    },
    publish: (topic, message, options) =>
      settings.topics.publish(topic, message, undefined, options),
    subscriberCount: (topic) => settings.topics.subscriberCount(topic),
    shutdown(): Promise<void> {
      if (!stopping) {
        stopping = true;
        listener.close();
        // Requests still arriving, or waiting for onUpgrade, get no answer: the server is going
        // away. Those the application is answering finish, with Connection: close.
        for (const connection of http) connection.stop();
        for (const connection of open) {
          connection.close(CloseCode.GoingAway, "server shutting down");
        }
        workersStopped = workers?.shutdown();
      }
      return finished;
    },
  };
  if (setup) followPrimary(server);
  return server;
}

/**
 * A WebSocket has opened: during a shutdown it is closed with 1001 at once, else `onOpen` runs;
 * if that throws or rejects, `onError` hears of it and the connection is closed with 1011.
 */
function opened<Data>(
  connection: WebSocketConnection<Data>,
  settings: ServerSettings<Data>,
  stopping: boolean,
): void {
  if (stopping) {
    connection.close(CloseCode.GoingAway, "server shutting down");
    return;
  }
  const fail = (error: unknown) => {
    // A loop of onOpen's that ends as the connection closes under it has not failed.
    if (error instanceof ConnectionClosedError) return;
    settings.onError(error, connection as WebSocketConnection);
    if (connection.state === "open") connection.close(CloseCode.InternalError);
  };
  try {
    const result = settings.onOpen?.(connection);
    if (result instanceof Promise) result.catch(fail);
  } catch (error) {
    fail(error);
  }
}

/** Accepts until the listener is closed; a failed accept (out of descriptors) is reported, not fatal. */
async function acceptLoop(
  listener: Listener,
  onError: (error: unknown) => void,
  stopping: () => boolean,
  onTransport: (transport: Transport) => void,
): Promise<void> {
  while (!stopping()) {
    let transport: Transport;
    try {
      transport = await listener.accept();
    } catch (error) {
      if (stopping()) return;
      onError(error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // Accepted as shutdown() began: nobody would close it.
    if (stopping()) return closeQuietly(transport);
    onTransport(transport);
  }
}
