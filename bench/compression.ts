/**
 * The permessage-deflate part of `deno task bench`: JSON-like text of 1 KiB and 64 KiB through
 * every server that can compress, with the extension off and on, and what an idle connection
 * that has compressed costs. The load generator compresses what it sends at zlib's level 1 and
 * checks every echo once inflated; the wire ratios are the data payload bytes that crossed the
 * wire per byte carried. Then the codec alone, in this process, with and without context
 * takeover, at levels 1 and 6.
 */

import { DeflateCodec } from "../src/protocol/deflate.ts";
import {
  errorsAndLost,
  format,
  type LoadCell,
  type LoadResult,
  markdownTable,
  measureIdle,
  type Repetitions,
  runCells,
  type ServerSpec,
} from "./support.ts";

/** How long and how often, as for the rest of the benchmark, and the idle test's size. */
export interface CompressionOptions extends Repetitions {
  /** Connections held open for the memory test, each after one 1 KiB message; 0 skips it. */
  idle: number;
}

const CELLS: LoadCell[] = [
  { id: "json-1KiB-c64-d16", size: 1024, connections: 64, depth: 16 },
  { id: "json-64KiB-c64-d1", size: 65536, connections: 64, depth: 1 },
].map(({ id, size, connections, depth }) => ({
  id,
  args: [
    "--type",
    "json",
    "--size",
    String(size),
    "--connections",
    String(connections),
    "--depth",
    String(depth),
  ],
}));

/** Each server that can compress, as it is and with its permessage-deflate on. */
function variants(servers: ServerSpec[]): ServerSpec[] {
  return servers.filter((spec) => spec.deflateArg).flatMap((spec) => [
    spec,
    {
      ...spec,
      name: `${spec.name} + deflate`,
      command: [...spec.command, spec.deflateArg!],
      loadArgs: ["--deflate"],
    },
  ]);
}

/** Runs the compression cells and the idle test on `servers`, and returns its Markdown. */
export async function benchCompression(
  servers: ServerSpec[],
  options: CompressionOptions,
): Promise<string> {
  const chosen = variants(servers);
  const results = await runCells(chosen, CELLS, options);
  const rows = CELLS.flatMap((cell) =>
    chosen.map((spec) => {
      const of = (field: keyof LoadResult) => results.median(spec.name, cell.id, field)!;
      return [
        cell.id,
        spec.name,
        format(of("msgs_per_s")),
        of("mb_per_s").toFixed(1),
        of("received_wire_ratio").toFixed(3),
        of("sent_wire_ratio").toFixed(3),
        `${Math.round(of("p50_us"))}/${Math.round(of("p99_us"))}`,
        errorsAndLost(results.of(spec.name, cell.id)),
      ];
    })
  );
  const table = markdownTable([
    "cell",
    "server",
    "msgs/s",
    "MB/s carried",
    "server → client wire ÷ carried",
    "client → server",
    "p50/p99 µs",
    "errors/lost",
  ], rows);

  let memoryTable = "";
  if (options.idle > 0) {
    const memoryRows: string[][] = [];
    for (const spec of chosen) {
      const args = ["--hold-echo", "--type", "json", "--size", "1024"];
      const m = await measureIdle(spec, options.idle, args);
      memoryRows.push([spec.name, m.perConnKiB.toFixed(1), String(m.lost)]);
    }
    memoryTable = "\n" + markdownTable([
      `${options.idle} idle connections, after one 1 KiB message each`,
      "KiB per connection",
      "lost",
    ], memoryRows);
  }
  return `\n## Compression (permessage-deflate)\n\nMedian of ${options.reps} repetitions of ` +
    `${options.seconds} s; JSON-like text messages, both ways compressed when the extension is ` +
    `on (each server's defaults; the load generator compresses at level 1).\n\n${table}${memoryTable}` +
    codecTable();
}

/** JSON-like records as an API would send them, `length` bytes of them. */
function jsonText(length: number): Uint8Array {
  const names = ["alice", "bob", "carol", "dave", "erin", "frank"];
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  let text = "";
  while (text.length < length) {
    text += JSON.stringify({
      id: next(),
      name: names[next() % 6],
      email: `${names[next() % 6]}${next() % 1000}@example.com`,
      active: next() % 2 === 0,
      score: (next() % 10000) / 100,
      tags: ["new", "vip", "beta"].slice(next() % 3),
    }) + ",";
  }
  return new TextEncoder().encode(text.slice(0, length));
}

/**
 * The codec alone: one end compresses consecutive windows of JSON-like text, the other inflates
 * them, with context takeover or not, at levels 1 and 6 (windows of 15, `memLevel` 8).
 */
function codecTable(): string {
  const text = jsonText(4 * 1024 * 1024);
  const rows: string[][] = [];
  for (const size of [1024, 65536]) {
    for (const takeover of [false, true]) {
      for (const level of [1, 6]) {
        const options = {
          deflateWindowBits: 15,
          inflateWindowBits: 15,
          deflateContextTakeover: takeover,
          inflateContextTakeover: takeover,
          level,
          memLevel: 8,
          threshold: 0,
        };
        const sender = new DeflateCodec(options);
        const receiver = new DeflateCodec(options);
        const count = Math.min(20_000, Math.floor(text.length / size));
        let deflating = 0;
        let inflating = 0;
        let wire = 0;
        for (let i = 0; i < count; i++) {
          const message = text.subarray(i * size, (i + 1) * size);
          const started = performance.now();
          const compressed = sender.encode(message)!;
          const compressedAt = performance.now();
          receiver.decode([compressed], size);
          inflating += performance.now() - compressedAt;
          deflating += compressedAt - started;
          wire += compressed.length;
        }
        sender.close();
        receiver.close();
        rows.push([
          `${size === 1024 ? "1 KiB" : "64 KiB"}, ${
            takeover ? "context kept" : "no context"
          }, level ${level}`,
          (deflating * 1000 / count).toFixed(1),
          (inflating * 1000 / count).toFixed(1),
          (wire / (count * size)).toFixed(3),
        ]);
      }
    }
  }
  return "\n" + markdownTable(
    ["codec, in process", "µs to compress", "µs to inflate", "wire ÷ carried"],
    rows,
  );
}
