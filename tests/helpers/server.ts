/**
 * Servers for tests: the CLI started as a real process, or `serve()` in this process; both on
 * loopback with a free port, both disposable with `await using`.
 */

import { serve, type ServeOptions, type Server } from "../../mod.ts";
import type { Handler } from "../../src/websocket.ts";

const ROOT = new URL("../../", import.meta.url);
export const IMPORT_MAP = new URL("tests/import_map.json", ROOT).pathname;

/** A server process. */
export interface ServerProcess extends AsyncDisposable {
  port: number;
  process: Deno.ChildProcess;
  /** Everything the process printed to stdout so far. */
  output(): string;
}

/** Starts `mod.ts` (the CLI) with `args` on 127.0.0.1 and a free port, and waits until it listens. */
export async function startCli(args: string[] = []): Promise<ServerProcess> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--import-map=${IMPORT_MAP}`,
      new URL("mod.ts", ROOT).pathname,
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => process.kill(), 20_000);
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server exited before listening:\n${output}`);
    output += value;
    const match = /Listening on http:\/\/[^:]+:(\d+)\//.exec(output);
    if (match) port = Number(match[1]);
  }
  clearTimeout(deadline);
  // Keep draining stdout so the process never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      output += value;
    }
  })();
  return {
    port,
    process,
    output: () => output,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await process.status;
      await drained;
    },
  };
}

/** An in-process server, shut down on dispose. */
export interface TestServer extends AsyncDisposable {
  server: Server;
  port: number;
  /** `ws://127.0.0.1:port` + path. */
  url(path?: string): string;
}

/** Starts `serve()` on 127.0.0.1 with a free port. */
export function startServer(options: ServeOptions, handler: Handler): TestServer {
  const server = serve({ hostname: "127.0.0.1", port: 0, ...options }, handler);
  return {
    server,
    port: server.addr.port,
    url: (path = "/") => `ws://127.0.0.1:${server.addr.port}${path}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
