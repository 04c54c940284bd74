/**
 * What the benchmark and the soak test share: the C load generator, starting and stopping a
 * server as its own pinned process, and reading a process's memory.
 */

export const BENCH = new URL(".", import.meta.url).pathname;
export const ROOT = new URL("..", import.meta.url).pathname;
export const LOADGEN = `${BENCH}.build/loadgen`;

export interface ServerSpec {
  name: string;
  command: string[];
  /** Whether the load generator speaks WebSocket to it, or raw bytes. */
  mode: "ws" | "raw";
  /** The argument that turns on its permessage-deflate; absent when it has none. */
  deflateArg?: string;
}

export interface LoadResult {
  messages: number;
  msgs_per_s: number;
  mb_per_s: number;
  p50_us: number;
  p99_us: number;
  verify_errors: number;
  lost_connections: number;
  connect_ms: number;
  /** Data payload bytes on the wire per byte carried, client to server (1 without compression). */
  sent_wire_ratio: number;
  /** The same, server to client: what the server's compression saved. */
  received_wire_ratio: number;
}

/** The command line's arguments for a server on loopback and a free port. */
const CLI_ARGS = [`${ROOT}mod.ts`, "--hostname", "127.0.0.1", "--port", "0"];

/** This server, run by its command line on each runtime. */
export const OURS: ServerSpec[] = [
  {
    name: "ours (Deno)",
    command: [
      "deno",
      "run",
      "--allow-net",
      `--import-map=${ROOT}tests/import_map.json`,
      ...CLI_ARGS,
    ],
    mode: "ws",
    deflateArg: "--deflate",
  },
  {
    name: "ours (Bun)",
    command: ["bun", `--preload=${ROOT}tests/bun_offline.ts`, ...CLI_ARGS],
    mode: "ws",
    deflateArg: "--deflate",
  },
];

/** Builds the load generator (`bench/loadgen.c`) with `cc`. */
export async function buildLoadgen(): Promise<void> {
  await Deno.mkdir(`${BENCH}.build`, { recursive: true });
  await run(["cc", "-O2", "-Wall", "-o", LOADGEN, `${BENCH}loadgen.c`, "-lz"]);
}

/** Installs `deno-std` into `tests/node_modules`, from which ours under Bun takes `@std`. */
export async function installBunDependencies(): Promise<void> {
  try {
    await Deno.stat(`${ROOT}tests/node_modules/deno-std`);
  } catch {
    await run(["npm", "ci", "--prefix", `${ROOT}tests`, "--no-audit", "--no-fund"]);
  }
}

export async function run(
  command: string[],
  options: Deno.CommandOptions = {},
): Promise<string> {
  const output = await new Deno.Command(command[0], {
    args: command.slice(1),
    ...options,
  }).output();
  if (!output.success) {
    throw new Error(
      `${command.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

export async function has(program: string): Promise<boolean> {
  try {
    await run(["sh", "-c", `command -v ${program}`]);
    return true;
  } catch {
    return false;
  }
}

export const pin = await has("taskset");

/** Wraps a command to raise its descriptor limit and pin it to `core`. */
export function wrap(command: string[], core: number): string[] {
  const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join(" ");
  return [
    "bash",
    "-c",
    `ulimit -n $(ulimit -Hn); exec ${pin ? `taskset -c ${core} ` : ""}${quoted}`,
  ];
}

export interface RunningServer {
  spec: ServerSpec;
  port: number;
  pid: number;
  process: Deno.ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const [program, ...args] = wrap(spec.command, 0);
  const process = new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "inherit",
    cwd: BENCH,
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let seen = "";
  const timer = setTimeout(() => process.kill(), 20_000);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${spec.name} exited before listening: ${seen}`);
    seen += value;
    const match = /ready (\d+)/.exec(seen) ??
      /Listening on http:\/\/[^:]+:(\d+)\//.exec(seen);
    if (match) {
      clearTimeout(timer);
      // Keep reading so the server never blocks on a full pipe.
      (async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          seen += next.value;
        }
      })();
      return { spec, port: Number(match[1]), pid: process.pid, process, output: () => seen };
    }
  }
}

export async function stopServer(server: RunningServer): Promise<void> {
  try {
    server.process.kill("SIGKILL");
  } catch {
    // Gone already.
  }
  await server.process.status;
}

export async function loadgen(
  server: RunningServer,
  args: string[],
): Promise<LoadResult> {
  const command = wrap([
    LOADGEN,
    "--port",
    String(server.port),
    "--mode",
    server.spec.mode,
    ...args,
  ], 1);
  const output = await new Deno.Command(command[0], { args: command.slice(1) })
    .output();
  const line = new TextDecoder().decode(output.stdout).trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) {
    throw new Error(
      `loadgen printed nothing: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return JSON.parse(line);
}

/** Resident memory of a process and its children, in KiB (the server is bash → exec → runtime). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

export async function listenOverflows(): Promise<number> {
  const text = await Deno.readTextFile("/proc/net/netstat");
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf("ListenOverflows")]);
}

/** What holding many idle connections open cost a server. */
export interface IdleMemory {
  /** Resident memory per connection: the peak while they were open, less the baseline. */
  perConnKiB: number;
  /** How long opening them all took. */
  connectMs: number;
  /** Connections the kernel dropped from the server's full accept queue meanwhile. */
  overflows: number;
  /** Connections that failed. */
  lost: number;
}

/**
 * Starts `spec`, opens `connections` connections to it with the load generator's `--hold` (and
 * `args`), and measures its resident memory per connection near the end of the hold.
 */
export async function measureIdle(
  spec: ServerSpec,
  connections: number,
  args: string[] = [],
): Promise<IdleMemory> {
  const server = await startServer(spec);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await rssKiB(server.pid);
    const overflowsBefore = await listenOverflows();
    const holdSeconds = 6;
    const held = loadgen(server, [
      "--connections",
      String(connections),
      "--hold",
      String(holdSeconds),
      ...args,
    ]);
    // Sample near the end of the hold, when every connection is open and idle.
    let peak = before;
    const started = Date.now();
    while (Date.now() - started < holdSeconds * 1000 - 500) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      peak = Math.max(peak, await rssKiB(server.pid));
    }
    const result = await held;
    return {
      perConnKiB: (peak - before) / connections,
      connectMs: result.connect_ms,
      overflows: (await listenOverflows()) - overflowsBefore,
      lost: result.lost_connections,
    };
  } finally {
    await stopServer(server);
  }
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A rate as a whole number with thousands separators. */
export const format = (n: number): string =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n >= 10 ? 1 : 2);
