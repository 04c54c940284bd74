/**
 * Servers for tests: the CLI started as a real process, or `serve()` in this process; both on
 * loopback with a free port, both disposable with `await using`.
 */

import { serve, type ServeOptions, type Server } from "../../mod.ts";
import type { Handler } from "../../src/websocket.ts";

const ROOT = new URL("../../", import.meta.url);
export const IMPORT_MAP = new URL("tests/import_map.json", ROOT).pathname;
const BUN_OFFLINE = new URL("tests/bun_offline.ts", ROOT).pathname;
const MOD = new URL("mod.ts", ROOT).pathname;

/** The runtimes the server is tested on as a process. */
export const RUNTIMES = ["deno", "bun"] as const;
/** One of {@linkcode RUNTIMES}. */
export type Runtime = typeof RUNTIMES[number];

/**
 * The command that runs `script` with `args` on `runtime`, from the repository root, with `@std`
 * served from the npm package `deno-std` as on a machine without JSR: Deno through
 * `tests/import_map.json`, Bun through `tests/bun_offline.ts`, which reads the same map.
 */
export function scriptCommand(
  runtime: Runtime,
  script: string,
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "cwd"> = {},
): Deno.Command {
  const [program, ...runtimeArgs] = runtime === "deno"
    // --allow-read for the TLS files of --cert and --key, and a client's CA file.
    ? [Deno.execPath(), "run", "--allow-net", "--allow-read", `--import-map=${IMPORT_MAP}`]
    : ["bun", `--preload=${BUN_OFFLINE}`];
  return new Deno.Command(program, {
    ...options,
    args: [...runtimeArgs, script, ...args],
    cwd: ROOT,
  });
}

/** The command that runs `mod.ts` (the CLI) with `args` on `runtime`. */
export function cliCommand(
  runtime: Runtime,
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "cwd"> = {},
): Deno.Command {
  return scriptCommand(runtime, MOD, args, options);
}

/** A server process. */
export interface ServerProcess extends AsyncDisposable {
  port: number;
  process: Deno.ChildProcess;
  /** Everything the process printed to stdout so far. */
  output(): string;
}

/**
 * Starts `mod.ts` (the CLI) on `runtime` with `args` on 127.0.0.1 and a free port, and waits
 * until it listens.
 */
export async function startCli(
  runtime: Runtime = "deno",
  args: string[] = [],
): Promise<ServerProcess> {
  const command = cliCommand(runtime, ["--hostname", "127.0.0.1", "--port", "0", ...args], {
    stdout: "piped",
    stderr: "inherit",
  });
  const process = command.spawn();
  let output = "";
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => process.kill(), 20_000);
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server exited before listening:\n${output}`);
    output += value;
    const match = /Listening on https?:\/\/[^:]+:(\d+)\//.exec(output);
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

/**
 * Registers the test once per runtime, named `[deno] name` and `[bun] name`, each run against
 * the CLI started on that runtime with `args` and stopped afterwards.
 */
export function testCli(
  name: string,
  fn: (cli: ServerProcess, t: Deno.TestContext) => void | Promise<void>,
  args: string[] = [],
): void {
  for (const runtime of RUNTIMES) {
    Deno.test(`[${runtime}] ${name}`, async (t) => {
      await using cli = await startCli(runtime, args);
      await fn(cli, t);
    });
  }
}

/** An in-process server, shut down on dispose. */
export interface TestServer extends AsyncDisposable {
  server: Server;
  port: number;
  /** `ws://127.0.0.1:port` + path. */
  url(path?: string): string;
}

/** Starts `serve()` on 127.0.0.1 with a free port. */
export function startServer<Data = undefined>(
  options: ServeOptions<Data>,
  handler: Handler<Data>,
): TestServer {
  const server = serve({ hostname: "127.0.0.1", port: 0, ...options }, handler);
  return {
    server,
    port: server.addr.port,
    url: (path = "/") => `ws://127.0.0.1:${server.addr.port}${path}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
