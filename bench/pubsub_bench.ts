/**
 * Messages per second through Redis with `redisPubSub`: one publisher process and one
 * subscriber process (`pubsub_peer.ts`), both on Deno or both on Bun, binary payloads of 16 B
 * and 1 KiB, against a `redis-server` of its own on a free loopback port. Bounded: each cell
 * publishes for `--seconds` (2), about 15 s in all.
 *
 * `deno run --allow-all bench/pubsub_bench.ts [--seconds S] [--in-flight N]`
 *
 * Reports the publisher's rate (publishes confirmed by Redis per second), the subscriber's
 * (messages received per second, first to last), and what was lost (always 0 while Redis is up).
 */

import { startRedis } from "../tests/helpers/redis.ts";
import { ROOT } from "./support.ts";

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(name);
  return at === -1 ? fallback : Deno.args[at + 1];
}

const seconds = option("--seconds", "2");
/** Unconfirmed publishes the publisher allows itself: a server's burst, bounded. */
const inFlight = option("--in-flight", "1000");
const PEER = `${ROOT}bench/pubsub_peer.ts`;
const TIMEOUT_MS = 30_000 + 1_000 * Number(seconds);

function peer(runtime: "deno" | "bun", args: string[]): Deno.ChildProcess {
  const [program, ...runtimeArgs] = runtime === "deno"
    ? [
      "deno",
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env=REDIS_DEBUG_MAINTENANCE",
      `--config=${ROOT}deno.json`,
      `--import-map=${ROOT}tests/import_map.json`,
    ]
    : ["bun", `--preload=${ROOT}tests/bun_offline.ts`];
  return new Deno.Command(program, {
    args: [...runtimeArgs, PEER, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function report<T>(child: Deno.ChildProcess, what: string): Promise<T> {
  const timer = setTimeout(() => child.kill(), TIMEOUT_MS);
  const { code, stdout } = await child.output();
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}

await using redis = await startRedis();
const rows: string[] = [];
for (const runtime of ["deno", "bun"] as const) {
  for (const bytes of [16, 1024]) {
    const topic = `bench-${runtime}-${bytes}`;
    const subscriber = peer(runtime, ["subscribe", redis.url, topic]);
    while ((await redis.cli("PUBSUB", "NUMSUB", `wsd:${topic}`))[1] !== "1") {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const publisher = peer(runtime, [
      "publish",
      redis.url,
      topic,
      String(bytes),
      seconds,
      inFlight,
    ]);
    const [sent, received] = await Promise.all([
      report<{ published: number; ms: number; lost: number }>(publisher, "the publisher"),
      report<{ count: number; ms: number; lost: number }>(subscriber, "the subscriber"),
    ]);
    const rate = (count: number, ms: number) => Math.round(count / ms * 1_000).toLocaleString("en");
    rows.push(
      `| ${runtime} | ${bytes} B | ${rate(sent.published, sent.ms)} | ` +
        `${rate(received.count, received.ms)} | ${sent.published - received.count} | ` +
        `${sent.lost + received.lost} |`,
    );
    console.error(rows.at(-1));
  }
}
console.log(
  `redisPubSub, one publisher and one subscriber process, ${seconds} s per cell, ` +
    `at most ${inFlight} publishes unconfirmed\n`,
);
console.log("| runtime | payload | published/s | received/s | not received | lost |");
console.log("| ------- | ------- | ----------- | ---------- | ------------ | ---- |");
for (const row of rows) console.log(row);
