/**
 * `deno task bench`: the server against the servers users would pick instead, in one run on one
 * machine. Each server runs as its own process on loopback, pinned to core 0 where `taskset`
 * exists; the C load generator (bench/loadgen.c) runs on core 1, masks every frame, checks every
 * echo, and keeps N messages in flight per connection. Servers take turns within each repetition;
 * the table reports the median of the repetitions.
 *
 * Options: --reps N (3), --seconds S (3), --warmup S (1), --servers a,b (all),
 * --cells 16B-c64-d1,… (all), --idle N (10000 connections for the memory test, 0 to skip),
 * --deflate-idle N (2000 connections for the memory test of compressed ones, 0 to skip),
 * --compression on|off (the permessage-deflate cells of bench/compression.ts; on), --out FILE
 * (bench/results.md).
 */

import { benchCompression } from "./compression.ts";
import {
  BENCH,
  buildLoadgen,
  format,
  has,
  type IdleMemory,
  installBunDependencies,
  loadgen,
  type LoadResult,
  measureIdle,
  median,
  OURS,
  pin,
  run,
  type ServerSpec,
  startServer,
  stopServer,
} from "./support.ts";

const SERVERS: ServerSpec[] = [
  ...OURS,
  {
    name: "Deno built-in",
    command: [
      "deno",
      "run",
      "--allow-net",
      `${BENCH}servers/deno_builtin.ts`,
      "0",
    ],
    mode: "ws",
  },
  {
    name: "Bun built-in",
    command: ["bun", `${BENCH}servers/bun_builtin.ts`, "0"],
    mode: "ws",
    deflateArg: "deflate",
  },
  {
    name: "Node ws",
    command: ["node", `${BENCH}servers/node_ws.mjs`, "0"],
    mode: "ws",
    deflateArg: "deflate",
  },
  {
    name: "raw TCP echo (Deno)",
    command: ["deno", "run", "--allow-net", `${BENCH}servers/raw_echo.ts`, "0"],
    mode: "raw",
  },
];

interface Cell {
  id: string;
  size: number;
  type: "text" | "binary";
  connections: number;
  depth: number;
}

/** Cells whose messages in flight would exceed this many bytes are left out (memory). */
const MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

function cells(): Cell[] {
  const payloads = [
    { size: 16, type: "text" as const, label: "16B" },
    { size: 1024, type: "text" as const, label: "1KiB" },
    { size: 65536, type: "binary" as const, label: "64KiB" },
    { size: 1048576, type: "binary" as const, label: "1MiB" },
  ];
  const all: Cell[] = [];
  for (const { size, type, label } of payloads) {
    for (const connections of [1, 64, 1000]) {
      for (const depth of [1, 16]) {
        if (size * connections * depth > MAX_IN_FLIGHT_BYTES) continue;
        all.push({
          id: `${label}-c${connections}-d${depth}`,
          size,
          type,
          connections,
          depth,
        });
      }
    }
  }
  return all;
}

function parseOptions(args: string[]) {
  const options = {
    reps: 3,
    seconds: 3,
    warmup: 1,
    servers: SERVERS.map((s) => s.name),
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
    else if (name === "--out") options.out = value;
    else if (name === "--servers") {
      const wanted = value.split(",").map((s) => s.toLowerCase());
      options.servers = SERVERS.map((s) => s.name).filter((n) =>
        wanted.some((w) => n.toLowerCase().startsWith(w))
      );
    } else if (name === "--cells") options.cells = value.split(",");
    else throw new Error(`unknown option ${name}`);
  }
  return options;
}

async function main() {
  const options = parseOptions(Deno.args);
  await buildLoadgen();
  try {
    await Deno.stat(`${BENCH}node_modules/ws`);
  } catch {
    await run(["npm", "install", "--prefix", BENCH, "--no-audit", "--no-fund"]);
  }
  await installBunDependencies();
  const available: ServerSpec[] = [];
  for (const spec of SERVERS.filter((s) => options.servers.includes(s.name))) {
    if (await has(spec.command[0])) available.push(spec);
    else console.error(`skipping ${spec.name}: ${spec.command[0]} is not installed`);
  }
  const chosen = cells().filter((cell) => options.cells.includes(cell.id));
  const results = new Map<string, LoadResult[]>();
  const key = (server: string, cell: string) => `${server}|${cell}`;

  for (let rep = 1; rep <= options.reps; rep++) {
    for (const spec of available) {
      const server = await startServer(spec);
      try {
        for (const cell of chosen) {
          const result = await loadgen(server, [
            "--connections",
            String(cell.connections),
            "--depth",
            String(cell.depth),
            "--size",
            String(cell.size),
            "--type",
            cell.type,
            "--duration",
            String(options.seconds),
            "--warmup",
            String(options.warmup),
          ]);
          console.error(
            `rep ${rep} ${spec.name.padEnd(20)} ${cell.id.padEnd(16)} ${
              format(result.msgs_per_s).padStart(10)
            } msgs/s  p50 ${result.p50_us} µs  p99 ${result.p99_us} µs  errors ${result.verify_errors}  lost ${result.lost_connections}`,
          );
          const list = results.get(key(spec.name, cell.id)) ?? [];
          list.push(result);
          results.set(key(spec.name, cell.id), list);
        }
      } finally {
        await stopServer(server);
      }
    }
  }

  const memory = new Map<string, IdleMemory>();
  if (options.idle > 0) {
    for (const spec of available.filter((s) => s.mode === "ws")) {
      memory.set(spec.name, await measureIdle(spec, options.idle));
    }
  }

  const compression = options.compression
    ? await benchCompression(available, { ...options, idle: options.deflateIdle })
    : "";

  const versions = {
    deno: (await run(["deno", "--version"])).split("\n")[0],
    bun: await has("bun")
      ? `bun ${(await run(["bun", "--version"])).trim()}`
      : "bun: not installed",
    node: await has("node")
      ? `node ${(await run(["node", "--version"])).trim()}`
      : "node: not installed",
    cpu: /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo"))
      ?.[1] ?? "?",
  };
  const names = available.map((s) => s.name);
  const ratio = (value: number, base: string, cell: string) => {
    const baseline = results.get(key(base, cell));
    if (!baseline) return "–";
    return `${(value / median(baseline.map((r) => r.msgs_per_s))).toFixed(2)}×`;
  };
  let table = `| cell | ${
    names.join(" | ")
  } | ours ÷ Deno | ours ÷ Bun | ours (Bun) ÷ Bun | ours p50/p99 µs | errors/lost |\n`;
  table += `|${"---|".repeat(names.length + 6)}\n`;
  for (const cell of chosen) {
    const cols = names.map((name) => {
      const list = results.get(key(name, cell.id));
      return list ? format(median(list.map((r) => r.msgs_per_s))) : "–";
    });
    const ours = results.get(key("ours (Deno)", cell.id));
    const oursRate = ours ? median(ours.map((r) => r.msgs_per_s)) : 0;
    const oursOnBun = results.get(key("ours (Bun)", cell.id));
    const all = [...results.entries()].filter(([k]) => k.endsWith(`|${cell.id}`)).flatMap(([, v]) =>
      v
    );
    const errors = all.reduce((sum, r) => sum + r.verify_errors, 0);
    const lost = all.reduce((sum, r) => sum + r.lost_connections, 0);
    table += `| ${cell.id} | ${cols.join(" | ")} | ${
      ours ? ratio(oursRate, "Deno built-in", cell.id) : "–"
    } | ${ours ? ratio(oursRate, "Bun built-in", cell.id) : "–"} | ${
      oursOnBun ? ratio(median(oursOnBun.map((r) => r.msgs_per_s)), "Bun built-in", cell.id) : "–"
    } | ${
      ours
        ? `${Math.round(median(ours.map((r) => r.p50_us)))}/${
          Math.round(median(ours.map((r) => r.p99_us)))
        }`
        : "–"
    } | ${errors}/${lost} |\n`;
  }
  let memoryTable = "";
  if (memory.size > 0) {
    memoryTable =
      `\n| ${options.idle} idle connections | KiB per connection | open all (ms) | listen overflows | lost |\n|---|---|---|---|---|\n`;
    for (const [name, m] of memory) {
      memoryTable += `| ${name} | ${m.perConnKiB.toFixed(1)} | ${
        format(m.connectMs)
      } | ${m.overflows} | ${m.lost} |\n`;
    }
  }
  const report =
    `# Benchmark results\n\nmsgs/s, median of ${options.reps} repetitions of ${options.seconds} s ` +
    `(after ${options.warmup} s warm-up); cells are payload-connections-depth (messages in flight per ` +
    `connection). Servers on core 0, load generator on core 1${
      pin ? "" : " (taskset missing: not pinned)"
    }.\n\n` +
    `Machine: ${versions.cpu}, ${navigator.hardwareConcurrency} cores. ${versions.deno}, ${versions.bun}, ${versions.node}.\n` +
    `Command: \`deno task bench ${Deno.args.join(" ")}\`.\n\n${
      chosen.length > 0 ? table : ""
    }${memoryTable}${compression}`;
  console.log(report);
  await Deno.writeTextFile(options.out, report);
}

await main();
