/**
 * The memory test of topics in `deno task bench`: 10,000 connections held open, each subscribed
 * to 10 topics of 1,000 as it opened (so each topic has 100 subscribers), against the same
 * connections without topics: resident memory per connection, and on this server the live
 * JavaScript heap per connection too (`servers/ours_heap.ts`, which reports it), on Deno and
 * Bun; `Bun.serve` with `ws.subscribe` alike, as a reference (its topics live in C++, outside
 * any JavaScript heap).
 */

import {
  BENCH,
  format,
  type IdleMemory,
  markdownTable,
  measureIdle,
  median,
  ROOT,
  type ServerSpec,
} from "./support.ts";

/** Topics each connection subscribes to. */
export const TOPICS_PER_CONNECTION = 10;

const HEAP_SERVER = `${BENCH}servers/ours_heap.ts`;

/** A server measured, serving connections with `topics` topics each. */
function subjects(topics: number): ServerSpec[] {
  // The project's own configuration, not bench/package.json's, which sits nearer the script.
  const deno = [
    "deno",
    "run",
    "--allow-net",
    "--v8-flags=--expose-gc",
    `--config=${ROOT}deno.json`,
  ];
  return [
    {
      name: `ours (Deno), ${topics} topics`,
      command: [...deno, `--import-map=${ROOT}tests/import_map.json`, HEAP_SERVER, String(topics)],
      runtime: "deno",
      mode: "ws",
    },
    {
      name: `ours (Bun), ${topics} topics`,
      command: ["bun", `--preload=${ROOT}tests/bun_offline.ts`, HEAP_SERVER, String(topics)],
      runtime: "bun",
      mode: "ws",
    },
    {
      name: `Bun built-in, ${topics} topics`,
      command: ["bun", `${BENCH}servers/bun_builtin.ts`, "0", "topics", String(topics)],
      runtime: "bun",
      mode: "ws",
    },
  ];
}

/** Whether `spec` reports its heap: this server does. */
const reportsHeap = (spec: ServerSpec) => spec.command.includes(HEAP_SERVER);

/**
 * Measures each server that `wanted` takes, `reps` times without topics and with them, taking
 * turns, and returns the report's table of medians.
 */
export async function benchTopicsMemory(
  connections: number,
  { reps, wanted }: { reps: number; wanted(spec: ServerSpec): boolean },
): Promise<string> {
  const without = subjects(0);
  const chosen = subjects(TOPICS_PER_CONNECTION).map((spec, i) => [without[i], spec])
    .filter(([spec]) => wanted(spec));
  const measured = new Map<ServerSpec, IdleMemory[]>();
  for (let rep = 1; rep <= reps; rep++) {
    for (const spec of chosen.flat()) {
      const heap = reportsHeap(spec);
      const result = await measureIdle(spec, connections, [], { heap });
      console.error(
        `rep ${rep} ${spec.name.padEnd(30)} ${result.perConnKiB.toFixed(1)} KiB per connection` +
          (heap ? `, heap ${Math.round(result.heapPerConnBytes!)} B` : "") +
          `, lost ${result.lost}`,
      );
      measured.set(spec, [...measured.get(spec) ?? [], result]);
    }
  }
  const n = TOPICS_PER_CONNECTION;
  const rows = chosen.map(([none, some]) => {
    const of = (spec: ServerSpec, field: (m: IdleMemory) => number) =>
      median(measured.get(spec)!.map(field));
    const rss = (spec: ServerSpec) => of(spec, (m) => m.perConnKiB * 1024);
    const heap = (spec: ServerSpec) => of(spec, (m) => m.heapPerConnBytes!);
    const lost = [none, some].flatMap((spec) => measured.get(spec)!)
      .reduce((sum, m) => sum + m.lost, 0);
    const heapColumns = reportsHeap(none)
      ? [format(heap(none)), format(heap(some)), format((heap(some) - heap(none)) / n)]
      : ["–", "–", "–"];
    return [
      none.name.replace(/, 0 topics$/, ""),
      (rss(none) / 1024).toFixed(1),
      (rss(some) / 1024).toFixed(1),
      format((rss(some) - rss(none)) / n),
      ...heapColumns,
      String(lost),
    ];
  });
  return `\n## Memory per subscription\n\n${connections} connections held open, each subscribed ` +
    `to ${n} topics of 1,000 as it opened, or to none; median of ${reps} repetitions, taking ` +
    `turns.\n\n` +
    markdownTable([
      `${connections} connections`,
      "RSS KiB per connection, no topics",
      `with ${n} topics`,
      "RSS bytes per subscription",
      "heap bytes per connection, no topics",
      `with ${n} topics`,
      "heap bytes per subscription",
      "lost",
    ], rows);
}
