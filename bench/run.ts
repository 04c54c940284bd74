/**
 * `deno task bench`: the server against the servers users would pick instead, in one run on one
 * machine. Each server runs as its own process on loopback, pinned to core 0 where `taskset`
 * exists; the C load generator (bench/loadgen.c) runs on core 1, masks every frame, checks every
 * echo, and keeps N messages in flight per connection. Servers take turns within each repetition;
 * the table reports the median of the repetitions, and a second table their ratios, among them
 * each "ours" against the raw TCP echo of its runtime, the most a server there could reach.
 * "ours" runs on Deno, Bun and Node (Node 24 from `.ci/node24` where it is, as Node's `ws` does).
 *
 * Options: --reps N (3), --seconds S (3), --warmup S (1), --servers a,b (all; each takes the
 * servers whose names start with it, in every part), --cells 16B-c64-d1,… (all; none for none),
 * --idle N (10000 connections for the memory test, 0 to skip), --deflate-idle N (2000
 * connections for the memory test of compressed ones, 0 to skip), --compression on|off (the
 * permessage-deflate cells of bench/compression.ts; on), --fanout 16B,1KiB (both; none to skip:
 * the fan-out cells of bench/fanout.ts), --subscribers N (1000) and --publish-depth N (64) for
 * them, --redis on|off (on where redis-server is installed: the fan-out cells across processes),
 * --workers-cells a,b (16B-c64-d16,1KiB-c64-d16,64KiB-c64-d1; none to skip: echo cells with
 * `--workers 2`, bench/workers.ts), --topics-idle N (10000 connections for the memory test of
 * subscriptions, bench/topics_memory.ts; 0 to skip), --http on|off (the plain HTTP cells of
 * bench/http.ts, where `wrk` is installed; on), --baseline REV (none; this server at the
 * git revision REV as well, "ours @<short rev> (Deno)", "(Bun)" and "(Node)", in the echo,
 * memory, compression and fan-out parts), --out FILE (bench/results.md).
 */

import { type Baseline, checkoutBaseline } from "./baseline.ts";
import { benchCompression } from "./compression.ts";
import { benchFanout, FANOUT_SIZES } from "./fanout.ts";
import { benchHttp } from "./http.ts";
import { cellTables } from "./report.ts";
import {
  BENCH,
  buildLoadgen,
  format,
  has,
  installBunDependencies,
  type LoadCell,
  markdownTable,
  measureIdle,
  NODE,
  ours,
  pin,
  run,
  runCells,
  type ServerSpec,
} from "./support.ts";
import { benchTopicsMemory } from "./topics_memory.ts";
import { benchWorkers, WORKERS_CELLS } from "./workers.ts";

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
  command: [NODE, `${BENCH}servers/node_ws.mjs`, "0"],
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
  {
    name: "raw TCP echo (Node)",
    command: [NODE, `${BENCH}servers/raw_echo.ts`, "0"],
    runtime: "node",
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
  /** Labels of the fan-out cells' message sizes. */
  fanout: string[];
  subscribers: number;
  publishDepth: number;
  redis: boolean;
  /** The echo cells run with workers. */
  workersCells: string[];
  /** Connections for the memory test of subscriptions; 0 skips it. */
  topicsIdle: number;
  /** Whether the plain HTTP cells of bench/http.ts run. */
  http: boolean;
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
    fanout: Object.keys(FANOUT_SIZES),
    subscribers: 1000,
    publishDepth: 64,
    redis: true,
    workersCells: WORKERS_CELLS,
    topicsIdle: 10000,
    http: true,
    out: `${BENCH}results.md`,
  };
  const list = (value: string) => value === "none" ? [] : value.split(",");
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
    else if (name === "--cells") options.cells = list(value);
    else if (name === "--fanout") options.fanout = list(value);
    else if (name === "--subscribers") options.subscribers = Number(value);
    else if (name === "--publish-depth") options.publishDepth = Number(value);
    else if (name === "--redis") options.redis = value !== "off";
    else if (name === "--workers-cells") options.workersCells = list(value);
    else if (name === "--topics-idle") options.topicsIdle = Number(value);
    else if (name === "--http") options.http = value !== "off";
    else throw new Error(`unknown option ${name}`);
  }
  const sizes = Object.keys(FANOUT_SIZES);
  for (const size of options.fanout) {
    if (!sizes.includes(size)) throw new Error(`--fanout takes ${sizes.join(",")}, not ${size}`);
  }
  const known = cells().map((cell) => cell.id);
  for (const cell of [...options.cells, ...options.workersCells]) {
    if (!known.includes(cell)) throw new Error(`no cell ${cell}; the cells are ${known.join(",")}`);
  }
  return options;
}

/**
 * The ratios the report shows, first ÷ second: ours against the built-in servers (and Node's
 * `ws`), against the baseline on the same runtime, and ours and the baseline against their
 * runtime's raw echo. `current` and `baseline` are as `ours()` returns them.
 */
function ratioPairs(current: ServerSpec[], baseline: ServerSpec[]): [ServerSpec, ServerSpec][] {
  const withSameRuntime = (spec: ServerSpec, others: ServerSpec[]) =>
    others.filter((other) => other.runtime === spec.runtime)
      .map((other): [ServerSpec, ServerSpec] => [spec, other]);
  const on = (runtime: ServerSpec["runtime"]) => current.filter((spec) => spec.runtime === runtime);
  return [
    ...on("deno").flatMap((spec): [ServerSpec, ServerSpec][] => [
      [spec, DENO_BUILT_IN],
      [spec, BUN_BUILT_IN],
    ]),
    ...on("bun").map((spec): [ServerSpec, ServerSpec] => [spec, BUN_BUILT_IN]),
    ...on("node").map((spec): [ServerSpec, ServerSpec] => [spec, NODE_WS]),
    ...current.flatMap((spec) => withSameRuntime(spec, baseline)),
    ...[...current, ...baseline].flatMap((spec) => withSameRuntime(spec, RAW_ECHOES)),
  ];
}

/**
 * The memory test: `connections` idle connections held open on each WebSocket server; then the
 * ratios of KiB per connection of the `pairs` that both ran.
 */
async function memoryTable(
  servers: ServerSpec[],
  connections: number,
  pairs: [ServerSpec, ServerSpec][],
): Promise<string> {
  const rows: string[][] = [];
  const perConnection = new Map<ServerSpec, number>();
  for (const spec of servers.filter((s) => s.mode === "ws")) {
    const m = await measureIdle(spec, connections);
    perConnection.set(spec, m.perConnKiB);
    rows.push([
      spec.name,
      m.perConnKiB.toFixed(1),
      format(m.connectMs),
      String(m.overflows),
      String(m.lost),
    ]);
  }
  const ratios = pairs.filter((pair) => pair.every((spec) => perConnection.has(spec)))
    .map(([over, under]) => [
      `${over.name} ÷ ${under.name}`,
      `${(perConnection.get(over)! / perConnection.get(under)!).toFixed(2)}×`,
    ]);
  const table = markdownTable([
    `${connections} idle connections`,
    "KiB per connection",
    "open all (ms)",
    "listen overflows",
    "lost",
  ], rows);
  return `\n${table}` +
    (ratios.length > 0 ? `\n${markdownTable(["KiB per idle connection", "ratio"], ratios)}` : "");
}

/** The processor and the runtimes' versions, as one line of the report. */
async function machine(): Promise<string> {
  const version = async (program: string, name = program) =>
    await has(program)
      ? `${name} ${(await run([program, "--version"])).trim()}`
      : `${name}: not installed`;
  const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  return `Machine: ${cpu}, ${navigator.hardwareConcurrency} cores. ${
    (await run(["deno", "--version"])).split("\n")[0]
  }, ${await version("bun")}, ${await version(NODE, "node")}.`;
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
  const pairs = ratioPairs(current, previous);
  const results = await runCells(available, chosen, options);
  const memory = options.idle > 0 ? await memoryTable(available, options.idle, pairs) : "";
  const compression = options.compression
    ? await benchCompression(available, { ...options, idle: options.deflateIdle })
    : "";
  const { fanout: sizes, publishDepth: depth } = options;
  const fanout = sizes.length > 0
    ? await benchFanout(current, previous, { ...options, sizes, depth, wanted })
    : "";
  const workersCells = cells().filter((cell) => options.workersCells.includes(cell.id));
  const workers = workersCells.length > 0
    ? await benchWorkers(current, workersCells, { ...options, wanted })
    : "";
  const topics = options.topicsIdle > 0
    ? await benchTopicsMemory(options.topicsIdle, { reps: options.reps, wanted })
    : "";
  const http = options.http
    ? await benchHttp([DENO_BUILT_IN, BUN_BUILT_IN], { ...options, wanted })
    : "";
  const revision = baseline
    ? `\`ours @${baseline.shortRev}\` is this server at \`${options.baseline}\` ` +
      `(${baseline.shortRev}: ${baseline.subject}).\n`
    : "";
  // The latency shown is of the first of ours that ran.
  const latencyOf = current.find((spec) => available.includes(spec)) ?? available[0];
  const tables = chosen.length > 0 ? cellTables(results, chosen, available, latencyOf, pairs) : "";
  return `# Benchmark results\n\nmsgs/s, median of ${options.reps} repetitions of ${options.seconds} s ` +
    `(after ${options.warmup} s warm-up); cells are payload-connections-depth (messages in flight per ` +
    `connection). Servers on core 0, load generator on core 1${
      pin ? "" : " (taskset missing: not pinned)"
    }. The second table divides these medians; a raw TCP echo is the most a server on its ` +
    `runtime could reach.\n\n${await machine()}\n` +
    `Command: \`deno task bench ${Deno.args.join(" ")}\`.\n${revision}\n` +
    `${tables}${memory}${compression}${fanout}${workers}${topics}${http}`;
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
