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
  /** The runtime it runs on; a server's ceiling is the raw TCP echo on the same one. */
  runtime: "deno" | "bun" | "node";
  /** Whether the load generator speaks WebSocket to it, or raw bytes. */
  mode: "ws" | "raw";
  /** The argument that turns on its permessage-deflate; absent when it has none. */
  deflateArg?: string;
  /** Arguments the load generator needs to speak to it (`--deflate`); none by default. */
  loadArgs?: string[];
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

/**
 * This server, run by its command line on Deno and then on Bun, from the checkout at `root` (a
 * path ending in `/`): that tree's `mod.ts`, import map and `bun_offline.ts`. `label` names them,
 * "ours (Deno)" and "ours (Bun)" by default.
 */
export function ours(root: string = ROOT, label = "ours"): ServerSpec[] {
  const cli = [`${root}mod.ts`, "--hostname", "127.0.0.1", "--port", "0"];
  return [
    {
      name: `${label} (Deno)`,
      command: ["deno", "run", "--allow-net", `--import-map=${root}tests/import_map.json`, ...cli],
      runtime: "deno",
      mode: "ws",
      deflateArg: "--deflate",
    },
    {
      name: `${label} (Bun)`,
      command: ["bun", `--preload=${root}tests/bun_offline.ts`, ...cli],
      runtime: "bun",
      mode: "ws",
      deflateArg: "--deflate",
    },
  ];
}

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
    ...server.spec.loadArgs ?? [],
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

/** One load of the benchmark: its name in the report, and the load generator's arguments. */
export interface LoadCell {
  id: string;
  args: string[];
}

/** How often and how long each cell runs against each server. */
export interface Repetitions {
  reps: number;
  /** Seconds measured per cell. */
  seconds: number;
  /** Seconds of load before the measurement, not counted. */
  warmup: number;
}

/** What each repetition measured, per server and cell. */
export class Results {
  #lists = new Map<string, LoadResult[]>();

  add(server: string, cell: string, result: LoadResult): void {
    const list = this.#lists.get(`${server}|${cell}`) ?? [];
    list.push(result);
    this.#lists.set(`${server}|${cell}`, list);
  }

  /** Every repetition's result of `server` on `cell`; empty when it did not run there. */
  of(server: string, cell: string): LoadResult[] {
    return this.#lists.get(`${server}|${cell}`) ?? [];
  }

  /** The median of `field` over the repetitions, or `undefined` when it did not run there. */
  median(server: string, cell: string, field: keyof LoadResult = "msgs_per_s"): number | undefined {
    const list = this.of(server, cell);
    return list.length > 0 ? median(list.map((result) => result[field])) : undefined;
  }
}

/**
 * Runs every cell against every server, `reps` times. Within a repetition the servers take
 * turns, each in a fresh process for all the cells, so a machine that drifts during the run
 * shifts them all alike.
 */
export async function runCells(
  servers: ServerSpec[],
  cells: LoadCell[],
  { reps, seconds, warmup }: Repetitions,
): Promise<Results> {
  const results = new Results();
  for (let rep = 1; rep <= reps; rep++) {
    for (const spec of servers) {
      const server = await startServer(spec);
      try {
        for (const cell of cells) {
          const result = await loadgen(server, [
            ...cell.args,
            "--duration",
            String(seconds),
            "--warmup",
            String(warmup),
          ]);
          console.error(
            `rep ${rep} ${spec.name.padEnd(30)} ${cell.id.padEnd(18)} ${
              format(result.msgs_per_s).padStart(10)
            } msgs/s  p50 ${result.p50_us} µs  p99 ${result.p99_us} µs  wire ${
              result.received_wire_ratio.toFixed(3)
            }  errors ${result.verify_errors}  lost ${result.lost_connections}`,
          );
          results.add(spec.name, cell.id, result);
        }
      } finally {
        await stopServer(server);
      }
    }
  }
  return results;
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

/** The verification errors and lost connections in `results`, summed, as "errors/lost". */
export function errorsAndLost(results: LoadResult[]): string {
  const errors = results.reduce((sum, result) => sum + result.verify_errors, 0);
  const lost = results.reduce((sum, result) => sum + result.lost_connections, 0);
  return `${errors}/${lost}`;
}

/** A Markdown table of `rows` under `header`. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |\n`;
  return line(header) + `|${"---|".repeat(header.length)}\n` + rows.map(line).join("");
}
