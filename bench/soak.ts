/**
 * `deno task soak`: this server held at 10,000 idle connections, then churned, then emptied, as
 * its own process (the CLI on Deno, or on Bun with `--runtime bun`), driven by the C load
 * generator. It reports KiB of RSS per idle connection, the RSS and open file descriptors before,
 * during and after, and fails when descriptors leak or a connection is lost. Bounded: about a
 * minute.
 *
 * Options: --runtime deno|bun (deno), --connections N (10000), --rounds N (5).
 */

import {
  BENCH,
  buildLoadgen,
  heapKiB,
  installBunDependencies,
  loadgen,
  ROOT,
  rssKiB,
  type ServerSpec,
  startServer,
  stopServer,
} from "./support.ts";

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(name);
  return at === -1 ? fallback : Deno.args[at + 1];
}

const runtime = option("--runtime", "deno") === "bun" ? "bun" : "deno";
const connections = Number(option("--connections", "10000"));
const rounds = Number(option("--rounds", "5"));
const SERVER = `${BENCH}servers/ours_heap.ts`;
const spec: ServerSpec = {
  name: `ours (${runtime})`,
  command: runtime === "bun" ? ["bun", `--preload=${ROOT}tests/bun_offline.ts`, SERVER] : [
    "deno",
    "run",
    "--allow-net",
    "--v8-flags=--expose-gc",
    // The project's own configuration, not bench/package.json's, which sits nearer the script.
    `--config=${ROOT}deno.json`,
    `--import-map=${ROOT}tests/import_map.json`,
    SERVER,
  ],
  runtime,
  mode: "ws",
};

const openDescriptors = async (pid: number) => {
  let count = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) count++;
  return count;
};
const settle = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

await buildLoadgen();
if (runtime === "bun") await installBunDependencies();
const server = await startServer(spec);
const rows: string[] = [];
let failed = false;
const record = async (phase: string, lost = 0) => {
  const rss = await rssKiB(server.pid);
  const fds = await openDescriptors(server.pid);
  const heap = await heapKiB(server);
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  rows.push(`| ${phase} | ${mib(rss)} | ${mib(heap)} | ${fds} | ${lost} |`);
  return { rss, heap, fds };
};
/** Opens every connection and holds it idle; the row is sampled near the end of the hold. */
const hold = async (phase: string) => {
  const seconds = 8;
  const held = loadgen(server, ["--connections", String(connections), "--hold", String(seconds)]);
  await settle(seconds - 1);
  const sample = await record(`${connections} ${phase}`);
  const lost = (await held).lost_connections;
  rows[rows.length - 1] = rows[rows.length - 1].replace(/\| 0 \|$/, `| ${lost} |`);
  return { ...sample, lost };
};

try {
  await settle(2);
  const baseline = await record("baseline");
  const first = await hold("idle, first time");

  // Churn: connections opened and closed in waves, with echo traffic in between.
  let lost = first.lost;
  for (let round = 0; round < rounds; round++) {
    const wave = await loadgen(server, ["--connections", String(connections / 5), "--hold", "1"]);
    const traffic = await loadgen(server, [
      "--connections",
      "200",
      "--depth",
      "4",
      "--size",
      "1024",
      "--type",
      "text",
      "--duration",
      "1",
    ]);
    lost += wave.lost_connections + traffic.lost_connections + traffic.verify_errors;
  }
  // The runtimes give freed memory back to the system only after some idle seconds.
  await settle(25);
  const after = await record(`${rounds} churn rounds, then 25 s idle`, lost);
  const second = await hold("idle, again");
  lost += second.lost;

  console.log(`# Soak: ours on ${runtime}\n`);
  console.log(
    "| phase | RSS MiB | JS heap after GC, MiB | open fds | lost or bad |\n|---|---|---|---|---|",
  );
  console.log(rows.join("\n"));
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  console.log(
    `\n${((first.rss - baseline.rss) / connections).toFixed(1)} KiB RSS per idle connection. ` +
      `After the churn and 25 s idle: RSS ${mib(after.rss - baseline.rss)} above the baseline ` +
      `(memory the runtime keeps), the live JavaScript heap ${mib(after.heap - baseline.heap)} ` +
      `above it, ${after.fds - baseline.fds} descriptors above it.`,
  );
  // A leak shows as descriptors that stay open, or live objects that outlive their connections.
  if (after.fds > baseline.fds || after.heap > baseline.heap + 2048 || lost > 0) {
    console.log("FAILED: descriptors or memory leaked, or connections were lost");
    failed = true;
  }
} finally {
  await stopServer(server);
}
if (failed) Deno.exit(1);
