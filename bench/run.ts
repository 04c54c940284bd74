/**
 * `deno task bench`: the server against the servers users would pick instead, in one run on one
 * machine. Each server runs as its own process on loopback, pinned to core 0 where `taskset`
 * exists; the C load generator (bench/loadgen.c) runs on core 1, masks every frame, checks every
 * echo, and keeps N messages in flight per connection. Servers take turns within each repetition;
 * the table reports the median of the repetitions, and a second table their ratios, among them
 * each "ours" against the raw TCP echo of its runtime, the most a server there could reach.
 *
 * Options: --reps N (3), --seconds S (3), --warmup S (1), --servers a,b (all; each takes the
 * servers whose names start with it), --cells 16B-c64-d1,… (all), --idle N (10000 connections for
 * the memory test, 0 to skip), --deflate-idle N (2000 connections for the memory test of
 * compressed ones, 0 to skip), --compression on|off (the permessage-deflate cells of
 * bench/compression.ts; on), --baseline REV (none; this server at the git revision REV as well,
 * "ours @<short rev> (Deno)" and "(Bun)", in every part of the run), --out FILE
 * (bench/results.md).
 */

import { type Baseline, checkoutBaseline } from "./baseline.ts";
import { benchCompression } from "./compression.ts";
import {
  BENCH,
  buildLoadgen,
  errorsAndLost,
  format,
  has,
  installBunDependencies,
  type LoadCell,
  markdownTable,
  measureIdle,
  ours,
  pin,
  type Results,
  run,
  runCells,
  type ServerSpec,
} from "./support.ts";

const DENO_BUILT_IN: ServerSpec = {
  name: "Deno built-in",
  command: ["deno", "run", "--allow-net", `${BENCH}servers/deno_builtin.ts`, "0"],
  runtime: "deno",
  mode: "ws",
};
const BUN_BUILT_IN: ServerSpec = {
  name: "Bun built-in",
  command: ["bun", `${BENCH}servers/bun_builtin.ts`, "0"],
  runtime: "bun",
  mode: "ws",
  deflateArg: "deflate",
};
const NODE_WS: ServerSpec = {
  name: "Node ws",
  command: ["node", `${BENCH}servers/node_ws.mjs`, "0"],
  runtime: "node",
  mode: "ws",
  deflateArg: "deflate",
};
/** A bare TCP echo on each runtime, the most a server in that process could reach. */
const RAW_ECHOES: ServerSpec[] = [
  {
    name: "raw TCP echo (Deno)",
    command: ["deno", "run", "--allow-net", `${BENCH}servers/raw_echo.ts`, "0"],
    runtime: "deno",
    mode: "raw",
  },
  {
    name: "raw TCP echo (Bun)",
    command: ["bun", `${BENCH}servers/raw_echo.ts`, "0"],
    runtime: "bun",
    mode: "raw",
  },
];

/** Cells whose messages in flight would exceed this many bytes are left out (memory). */
const MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

function cells(): LoadCell[] {
  const payloads = [
    { size: 16, type: "text", label: "16B" },
    { size: 1024, type: "text", label: "1KiB" },
    { size: 65536, type: "binary", label: "64KiB" },
    { size: 1048576, type: "binary", label: "1MiB" },
  ];
  const all: LoadCell[] = [];
  for (const { size, type, label } of payloads) {
    for (const connections of [1, 64, 1000]) {
      for (const depth of [1, 16]) {
        if (size * connections * depth > MAX_IN_FLIGHT_BYTES) continue;
        all.push({
          id: `${label}-c${connections}-d${depth}`,
          args: [
            "--connections",
            String(connections),
            "--depth",
            String(depth),
            "--size",
            String(size),
            "--type",
            type,
          ],
        });
      }
    }
  }
  return all;
}

interface Options {
  reps: number;
  seconds: number;
  warmup: number;
  /** Starts of server names, in lower case; every server when absent. */
  servers?: string[];
  cells: string[];
  idle: number;
  deflateIdle: number;
  compression: boolean;
  /** The git revision whose server runs beside this one; none when absent. */
  baseline?: string;
  out: string;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    reps: 3,
    seconds: 3,
    warmup: 1,
    cells: cells().map((c) => c.id),
    idle: 10000,
    deflateIdle: 2000,
    compression: true,
    out: `${BENCH}results.md`,
  };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split(/=(.*)/s, 2);
    const value = inline ?? args[++i];
    if (name === "--reps") options.reps = Number(value);
    else if (name === "--seconds") options.seconds = Number(value);
    else if (name === "--warmup") options.warmup = Number(value);
    else if (name === "--idle") options.idle = Number(value);
    else if (name === "--deflate-idle") options.deflateIdle = Number(value);
    else if (name === "--compression") options.compression = value !== "off";
    else if (name === "--baseline") options.baseline = value;
    else if (name === "--out") options.out = value;
    else if (name === "--servers") options.servers = value.toLowerCase().split(",");
    else if (name === "--cells") options.cells = value.split(",");
    else throw new Error(`unknown option ${name}`);
  }
  return options;
}

/**
 * The ratios the report shows, first ÷ second: ours against the built-in servers, against the
 * baseline on the same runtime, and ours and the baseline against their runtime's raw echo.
 * `current` and `baseline` are as `ours()` returns them, on Deno and then on Bun.
 */
function ratioPairs(current: ServerSpec[], baseline: ServerSpec[]): [ServerSpec, ServerSpec][] {
  const withSameRuntime = (spec: ServerSpec, others: ServerSpec[]) =>
    others.filter((other) => other.runtime === spec.runtime)
      .map((other): [ServerSpec, ServerSpec] => [spec, other]);
  const [oursOnDeno, oursOnBun] = current;
  return [
    [oursOnDeno, DENO_BUILT_IN],
    [oursOnDeno, BUN_BUILT_IN],
    [oursOnBun, BUN_BUILT_IN],
    ...current.flatMap((spec) => withSameRuntime(spec, baseline)),
    ...[...current, ...baseline].flatMap((spec) => withSameRuntime(spec, RAW_ECHOES)),
  ];
}

/** A column of a table with a row per cell: its title, and its entry for a cell. */
interface Column {
  title: string;
  entry(cell: string): string;
}

function cellTable(cells: LoadCell[], columns: Column[]): string {
  return markdownTable(
    ["cell", ...columns.map((column) => column.title)],
    cells.map((cell) => [cell.id, ...columns.map((column) => column.entry(cell.id))]),
  );
}

/**
 * The report's tables of `cells`: the median msgs/s of each server that `ran`, the latency of
 * `latencyOf`, and the errors and lost connections of them all; then, of the `pairs` whose two
 * servers both ran, the ratio of their medians.
 */
function cellTables(
  results: Results,
  cells: LoadCell[],
  ran: ServerSpec[],
  latencyOf: ServerSpec,
  pairs: [ServerSpec, ServerSpec][],
): string {
  const rate = (server: ServerSpec, cell: string) => results.median(server.name, cell);
  const rates: Column[] = ran.map((server) => ({
    title: server.name,
    entry: (cell) => {
      const value = rate(server, cell);
      return value === undefined ? "–" : format(value);
    },
  }));
  const latency: Column = {
    title: `${latencyOf.name} p50/p99 µs`,
    entry: (cell) => {
      const [p50, p99] = [
        results.median(latencyOf.name, cell, "p50_us"),
        results.median(latencyOf.name, cell, "p99_us"),
      ];
      return p50 === undefined || p99 === undefined ? "–" : `${Math.round(p50)}/${Math.round(p99)}`;
    },
  };
  const failures: Column = {
    title: "errors/lost",
    entry: (cell) => errorsAndLost(ran.flatMap((server) => results.of(server.name, cell))),
  };
  const ratios: Column[] = pairs.filter((pair) => pair.every((server) => ran.includes(server)))
    .map(([over, under]) => ({
      title: `${over.name} ÷ ${under.name}`,
      entry: (cell) => {
        const [top, bottom] = [rate(over, cell), rate(under, cell)];
        return top === undefined || !bottom ? "–" : `${(top / bottom).toFixed(2)}×`;
      },
    }));
  return cellTable(cells, [...rates, latency, failures]) +
    (ratios.length > 0 ? "\n" + cellTable(cells, ratios) : "");
}

/** The memory test: `connections` idle connections held open on each WebSocket server. */
async function memoryTable(servers: ServerSpec[], connections: number): Promise<string> {
  const rows: string[][] = [];
  for (const spec of servers.filter((s) => s.mode === "ws")) {
    const m = await measureIdle(spec, connections);
    rows.push([
      spec.name,
      m.perConnKiB.toFixed(1),
      format(m.connectMs),
      String(m.overflows),
      String(m.lost),
    ]);
  }
  return "\n" + markdownTable([
    `${connections} idle connections`,
    "KiB per connection",
    "open all (ms)",
    "listen overflows",
    "lost",
  ], rows);
}

/** The processor and the runtimes' versions, as one line of the report. */
async function machine(): Promise<string> {
  const version = async (program: string) =>
    await has(program)
      ? `${program} ${(await run([program, "--version"])).trim()}`
      : `${program}: not installed`;
  const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  return `Machine: ${cpu}, ${navigator.hardwareConcurrency} cores. ${
    (await run(["deno", "--version"])).split("\n")[0]
  }, ${await version("bun")}, ${await version("node")}.`;
}

/** Runs every part of the benchmark that `options` asks for, and returns the report. */
async function bench(options: Options, baseline?: Baseline): Promise<string> {
  const current = ours();
  const previous = baseline ? ours(baseline.root, `ours @${baseline.shortRev}`) : [];
  const wanted = (spec: ServerSpec) =>
    !options.servers ||
    options.servers.some((start) => spec.name.toLowerCase().startsWith(start));
  await buildLoadgen();
  try {
    await Deno.stat(`${BENCH}node_modules/ws`);
  } catch {
    await run(["npm", "install", "--prefix", BENCH, "--no-audit", "--no-fund"]);
  }
  await installBunDependencies();
  const available: ServerSpec[] = [];
  for (
    const spec of [...current, ...previous, DENO_BUILT_IN, BUN_BUILT_IN, NODE_WS, ...RAW_ECHOES]
      .filter(wanted)
  ) {
    if (await has(spec.command[0])) available.push(spec);
    else console.error(`skipping ${spec.name}: ${spec.command[0]} is not installed`);
  }
  const chosen = cells().filter((cell) => options.cells.includes(cell.id));
  const results = await runCells(available, chosen, options);
  const memory = options.idle > 0 ? await memoryTable(available, options.idle) : "";
  const compression = options.compression
    ? await benchCompression(available, { ...options, idle: options.deflateIdle })
    : "";
  const revision = baseline
    ? `\`ours @${baseline.shortRev}\` is this server at \`${options.baseline}\` ` +
      `(${baseline.shortRev}: ${baseline.subject}).\n`
    : "";
  const tables = chosen.length > 0
    ? cellTables(results, chosen, available, current[0], ratioPairs(current, previous))
    : "";
  return `# Benchmark results\n\nmsgs/s, median of ${options.reps} repetitions of ${options.seconds} s ` +
    `(after ${options.warmup} s warm-up); cells are payload-connections-depth (messages in flight per ` +
    `connection). Servers on core 0, load generator on core 1${
      pin ? "" : " (taskset missing: not pinned)"
    }. The second table divides these medians; a raw TCP echo is the most a server on its ` +
    `runtime could reach.\n\n${await machine()}\n` +
    `Command: \`deno task bench ${Deno.args.join(" ")}\`.\n${revision}\n` +
    `${tables}${memory}${compression}`;
}

async function main() {
  const options = parseOptions(Deno.args);
  const baseline = options.baseline ? await checkoutBaseline(options.baseline) : undefined;
  try {
    const report = await bench(options, baseline);
    console.log(report);
    await Deno.writeTextFile(options.out, report);
  } finally {
    await baseline?.remove();
  }
}

await main();
