/**
 * The fan-out part of `deno task bench`: one publisher and 1,000 subscribers on one topic, with
 * 16 B and 1 KiB text messages (`loadgen --mode fanout`): messages delivered per second. Every
 * server serves rooms: a connection on path P is subscribed to topic P, and each message it sends
 * goes to every subscriber of P, itself too, and that copy frees the publisher's place in flight.
 * The servers: this one (`mod.ts --rooms`: `connection.subscribe`, `server.publish`) on each
 * runtime; `Bun.serve` (`ws.subscribe`, `server.publish`); this one with a `connection.send` loop
 * over its own set of connections instead of publishing (`servers/ours_send_loop.ts`); and, across
 * processes, this one as 2 processes sharing a `redis-server` started for the run (`--redis`),
 * the subscribers spread over both and the publisher on the first, next to 1 process with the
 * same Redis. Every process of a server, and Redis, is pinned to core 0.
 */

import { startRedis } from "../tests/helpers/redis.ts";
import { cellTable, ratioColumns } from "./report.ts";
import {
  BENCH,
  has,
  type LoadCell,
  type LoadResult,
  markdownTable,
  oursScript,
  pin,
  type Repetitions,
  type Results,
  run,
  runCells,
  type ServerSpec,
  withDenoFlags,
} from "./support.ts";

/** The message sizes there are cells for, by label. */
export const FANOUT_SIZES: Record<string, number> = { "16B": 16, "1KiB": 1024 };

/** What the fan-out part runs. */
export interface FanoutOptions extends Repetitions {
  /** Labels of `FANOUT_SIZES`. */
  sizes: string[];
  /** Subscribers of the topic, besides the publisher. */
  subscribers: number;
  /** Publishes in flight: sent, and their copy not yet back at the publisher. */
  depth: number;
  /** Whether to run the cells across processes, through Redis. */
  redis: boolean;
  /** Whether a server (by its spec) is to run. */
  wanted(spec: ServerSpec): boolean;
}

type Pair = [ServerSpec, ServerSpec];

/** The cells: one per size. */
function fanoutCells({ sizes, subscribers, depth }: FanoutOptions): LoadCell[] {
  return sizes.map((label) => ({
    id: `fanout-${label}-s${subscribers}-d${depth}`,
    args: ["--connections", String(subscribers), "--depth", String(depth)].concat(
      ["--size", String(FANOUT_SIZES[label]), "--type", "text"],
    ),
  }));
}

/** This server (`spec`, a spec of `ours()`) serving rooms, with `args` more. */
function rooms(spec: ServerSpec, name = spec.name, args: string[] = []): ServerSpec {
  return {
    name,
    command: [...spec.command, "--rooms", ...args],
    runtime: spec.runtime,
    mode: "fanout",
  };
}

const BUN_ROOMS: ServerSpec = {
  name: "Bun built-in",
  command: ["bun", `${BENCH}servers/bun_builtin.ts`, "0", "rooms"],
  runtime: "bun",
  mode: "fanout",
};
const SEND_LOOPS = oursScript("ours_send_loop.ts", "ours send loop", "fanout");

/**
 * The servers across processes, for the Deno and Bun specs of `current`: 1 process and 2, with
 * Redis at `url`. On Deno the Redis client reads one environment variable, and files.
 */
function throughRedis(current: ServerSpec[], url: string): ServerSpec[] {
  const flags = ["--allow-env=REDIS_DEBUG_MAINTENANCE", "--allow-read"];
  return current.filter((spec) => spec.runtime !== "node").flatMap((spec) => {
    const relayed = { ...spec, command: withDenoFlags(spec, flags) };
    const [name, runtime] = spec.name.split(" ");
    return [1, 2].map((processes) => {
      const label = `${name} ${runtime}, ${processes} process${processes > 1 ? "es" : ""} + Redis`;
      return { ...rooms(relayed, label, ["--redis", url]), processes };
    });
  });
}

/** Starts a `redis-server` for the run, pinned to core 0 with the servers. */
async function startPinnedRedis() {
  const redis = await startRedis();
  if (pin) {
    const info = await redis.cli("INFO", "server");
    const pid = info.map((line) => /^process_id:(\d+)/.exec(line)?.[1]).find(Boolean);
    if (pid) await run(["taskset", "-pc", "0", pid]);
  }
  return redis;
}

/** The report's table: a row per cell and server. */
function fanoutTable(results: Results, cells: LoadCell[], ran: ServerSpec[]): string {
  const rows = cells.flatMap((cell) =>
    ran.map((spec) => {
      const of = (field: keyof LoadResult) => results.median(spec.name, cell.id, field)!;
      const sum = (field: "verify_errors" | "lost_connections" | "missed") =>
        results.of(spec.name, cell.id).reduce((total, result) => total + result[field], 0);
      return [
        cell.id,
        spec.name,
        Math.round(of("msgs_per_s")).toLocaleString("en-US"),
        Math.round(of("publishes_per_s")).toLocaleString("en-US"),
        `${Math.round(of("p50_us"))}/${Math.round(of("p99_us"))}`,
        of("loadgen_cpu_pct").toFixed(0),
        `${sum("verify_errors")}/${sum("lost_connections")}/${sum("missed")}`,
      ];
    })
  );
  return markdownTable([
    "cell",
    "server",
    "delivered/s",
    "published/s",
    "delivery p50/p99 µs",
    "load generator CPU %",
    "errors/lost/missed",
  ], rows);
}

/**
 * Runs the fan-out cells on this server (`current`, as `ours()` gives it, and `previous`, the
 * baseline's, if any) and its peers, and returns the report's section.
 */
export async function benchFanout(
  current: ServerSpec[],
  previous: ServerSpec[],
  options: FanoutOptions,
): Promise<string> {
  const cells = fanoutCells(options);
  const mine = current.map((spec) => rooms(spec));
  const before = previous.map((spec) => rooms(spec));
  const redisWanted = options.redis && await has("redis-server") &&
    throughRedis(current, "").some(options.wanted);
  const redis = redisWanted ? await startPinnedRedis() : undefined;
  try {
    const relayed = redis ? throughRedis(current, redis.url) : [];
    const ran: ServerSpec[] = [];
    for (const spec of [...mine, ...before, BUN_ROOMS, ...SEND_LOOPS, ...relayed]) {
      if (options.wanted(spec) && await has(spec.command[0])) ran.push(spec);
    }
    const results = await runCells(ran, cells, options);
    const sameRuntime = (spec: ServerSpec, others: ServerSpec[]) =>
      others.filter((other) => other.runtime === spec.runtime).map((other): Pair => [spec, other]);
    const pairs: Pair[] = [
      ...mine.map((spec): Pair => [spec, BUN_ROOMS]),
      ...mine.flatMap((spec) => sameRuntime(spec, SEND_LOOPS)),
      ...mine.flatMap((spec) => sameRuntime(spec, before)),
      ...relayed.flatMap((spec) => sameRuntime(spec, mine)),
      ...relayed.filter((spec) => spec.processes === 2)
        .flatMap((spec) => sameRuntime(spec, relayed.filter((other) => other.processes === 1))),
    ];
    const ratios = ratioColumns(results, ran, pairs);
    return `\n## Fan-out (topics)\n\nMedian of ${options.reps} repetitions of ${options.seconds} s; ` +
      `cells are fanout-size-subscribers-depth: one publisher with at most depth messages in ` +
      `flight, and subscribers of its topic; delivered/s counts the messages the subscribers ` +
      `received (the publisher's own copies are its published/s). Across processes, the ` +
      `subscribers are spread over the processes, the publisher is on the first, and every ` +
      `process and Redis run on core 0.\n\n${fanoutTable(results, cells, ran)}` +
      (ratios.length > 0 ? `\n${cellTable(cells, ratios)}` : "");
  } finally {
    await redis?.[Symbol.asyncDispose]();
  }
}
