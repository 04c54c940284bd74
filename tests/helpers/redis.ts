/**
 * A real `redis-server` for tests (Debian's package): on loopback, on a free port, without
 * persistence, stopped on dispose; killed and restarted on the same port to make an outage; and
 * `redis-cli` to look at what it holds.
 */

import { delay } from "./client.ts";

/** How long redis-server may take to start answering. */
const START_TIMEOUT_MS = 10_000;

/** A `redis-server` process of this test. */
export interface RedisServer extends AsyncDisposable {
  port: number;
  /** `redis://127.0.0.1:port`. */
  url: string;
  /** Kills the server with SIGKILL, as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, and waits until it answers. */
  restart(): Promise<void>;
  /** Runs `redis-cli` against it with `args`; returns its output, one reply per line. */
  cli(...args: string[]): Promise<string[]>;
}

/** A port nothing listens on now: bound to port 0, read, released. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts `redis-server` on 127.0.0.1 and `port` (a free one if not given). */
export async function startRedis(port = freePort()): Promise<RedisServer> {
  let process: Deno.ChildProcess | undefined;
  const cli = async (...args: string[]) => {
    const command = new Deno.Command("redis-cli", {
      args: ["-h", "127.0.0.1", "-p", String(port), ...args],
      stdout: "piped",
      stderr: "piped",
    });
    const { stdout } = await command.output();
    return new TextDecoder().decode(stdout).split("\n").filter((line) => line !== "");
  };
  const start = async () => {
    process = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = performance.now() + START_TIMEOUT_MS;
    while ((await cli("PING"))[0] !== "PONG") {
      if (performance.now() > deadline) {
        await kill();
        throw new Error(
          `redis-server on port ${port} did not answer within ${START_TIMEOUT_MS} ms`,
        );
      }
      await delay(20);
    }
  };
  const kill = async () => {
    if (!process) return;
    try {
      process.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await process.status;
    process = undefined;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: start,
    cli,
    [Symbol.asyncDispose]: kill,
  };
}
