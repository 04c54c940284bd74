/**
 * The command line: `deno run --allow-net mod.ts [options]`, or the same options after
 * `bun mod.ts` or `node mod.ts`, serves an echo handler (or rooms) and the test page.
 *
 * @module
 */

import { type CliOptions, parseArgs, USAGE, UsageError } from "./cli_args.ts";
import type { PubSub } from "./pubsub/pubsub.ts";
import { runtime } from "./runtime/mod.ts";
import { serve, type Server } from "./server.ts";
import { ListenError } from "./transport.ts";
import type { Handler } from "./websocket.ts";
import { workerSetup } from "./workers.ts";

/** The URL to print, with `localhost` for the all-interfaces address. */
function displayUrl(hostname: string, port: number, secure: boolean): string {
  const host = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}/`;
}

/**
 * Runs the command line and resolves with the process exit code: 0 after the server stops (on
 * SIGINT or SIGTERM it shuts down gracefully), 1 when it cannot listen or read its TLS files, 2 for
 * a bad command line.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./cli.ts";
 * assertEquals(await main(["--help"]), 0);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message} (see --help)`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let tls: { cert: string; key: string } | undefined;
  if (options.cert !== undefined && options.key !== undefined) {
    try {
      tls = {
        cert: await runtime.readTextFile(options.cert),
        key: await runtime.readTextFile(options.key),
      };
    } catch (error) {
      console.error(`error: cannot read the TLS certificate or key: ${(error as Error).message}`);
      return 1;
    }
  }
  let server: Server;
  try {
    server = await start(options, tls);
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  // A worker started by the server serves quietly; the primary speaks and hears the signals.
  if (workerSetup()) {
    await server.finished;
    return 0;
  }
  await server.ready;
  const url = displayUrl(server.addr.hostname, server.addr.port, tls !== undefined);
  const what = [
    options.rooms ? "rooms" : "",
    options.workers !== 1 ? `workers: ${options.workers}` : "",
  ]
    .filter(Boolean).join(", ");
  console.log(
    `Listening on ${url} (WebSocket: ${url.replace("http", "ws")})${what ? `, ${what}` : ""}`,
  );
  // SIGINT or SIGTERM: close every connection with 1001, wait for their close handshakes, exit 0.
  // A second signal does not wait for the connections: it exits at once, with 130 as shells do.
  let signalled = false;
  const stopListening = runtime.onStopSignal(() => {
    if (signalled) runtime.exit(130);
    signalled = true;
    console.log("Shutting down");
    server.shutdown();
  });
  await server.finished;
  stopListening();
  return 0;
}

/**
 * Serves what `options` ask for. With `--rooms`, a connection on path P is subscribed to topic P,
 * and each message it sends is published to P, the sender included, as it came (text or binary).
 */
async function start(options: CliOptions, tls?: { cert: string; key: string }): Promise<Server> {
  const { port, hostname, maxConnections, maxMessageBytes, maxHeaderBytes, deflate, workers } =
    options;
  // Loaded only when asked for, through a computed URL, which keeps the Redis client out of
  // mod.ts's module graph: a server without Redis fetches and loads no Redis code.
  const redisModule = new URL("./pubsub/redis.ts", import.meta.url).href;
  const pubsub = options.redis === undefined
    ? undefined
    : ((await import(redisModule)) as { redisPubSub(url: string): PubSub }).redisPubSub(
      options.redis,
    );
  const rooms = options.rooms;
  const handler: Handler = rooms
    ? (message, connection) => void server.publish(connection.url.pathname, message)
    : (message) => message;
  const server: Server = serve({
    port,
    hostname,
    maxConnections,
    maxMessageBytes,
    maxHeaderBytes,
    deflate,
    workers,
    pubsub,
    onOpen: rooms ? (connection) => connection.subscribe(connection.url.pathname) : undefined,
    ...tls,
  }, handler);
  return server;
}
