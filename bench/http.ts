/**
 * The plain HTTP part of `deno task bench`: a small `GET` over keep-alive connections, answered
 * by this server's `fetch` handler (`servers/ours_http.ts`, on Deno, Bun and Node) and by
 * `Deno.serve` and `Bun.serve` (the built-in peers, which answer a request that is not an
 * upgrade with the same 13 bytes). The load is `wrk` (Debian's package; the part is skipped
 * where it is missing), pinned to core 1 as the load generator is, one thread, after a warm-up.
 * Reported without a target: requests per second, and the latency of the first of ours.
 */

import { cellTables } from "./report.ts";
import {
  has,
  type LoadCell,
  type LoadResult,
  oursScript,
  Results,
  run,
  type ServerSpec,
  startServer,
  wrap,
} from "./support.ts";

/** This server's `fetch` handler on each runtime; named as `ours()` names them. */
const OURS = oursScript("ours_http.ts", "ours", "raw");

/** Keep-alive connections of each cell. */
const CONNECTIONS = [1, 64];

/** `wrk`'s duration (as "1.15ms", "950.00us" or "1.02s") in µs. */
function microseconds(text: string): number {
  const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text) ?? [];
  return Number(value) *
    { us: 1, ms: 1000, s: 1_000_000 }[unit as "us" | "ms" | "s"];
}

/**
 * What `wrk --latency` printed, as the fields of a load generator's result that the report
 * reads: requests/s as msgs/s, the 50th and 99th percentile, and failed requests (socket errors
 * and answers other than 2xx or 3xx) as errors.
 */
export function parseWrk(output: string): LoadResult {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
    .exec(output)?.slice(1).reduce((sum, n) => sum + Number(n), 0) ?? 0;
  const requests = /Requests\/sec:\s*([\d.]+)/.exec(output);
  if (!requests) throw new Error(`wrk printed no rate: ${output}`);
  return {
    messages: number(/(\d+) requests in/),
    msgs_per_s: Number(requests[1]),
    mb_per_s: 0,
    p50_us: microseconds(/50%\s+(\S+)/.exec(output)?.[1] ?? "0us"),
    p99_us: microseconds(/99%\s+(\S+)/.exec(output)?.[1] ?? "0us"),
    verify_errors: socketErrors + number(/Non-2xx or 3xx responses: (\d+)/),
    lost_connections: 0,
    connect_ms: 0,
    sent_wire_ratio: 1,
    received_wire_ratio: 1,
    loadgen_cpu_pct: 0,
    publishes_per_s: 0,
    missed: 0,
  };
}

/** Runs `wrk` on core 1 against `port` with `connections`, for `seconds` (whole, as it takes). */
async function wrk(
  port: number,
  connections: number,
  seconds: number,
): Promise<string> {
  return await run(wrap([
    "wrk",
    "--threads",
    "1",
    "--connections",
    String(connections),
    "--duration",
    `${Math.max(1, Math.round(seconds))}s`,
    "--latency",
    `http://127.0.0.1:${port}/`,
  ], "1"));
}

/**
 * Runs the HTTP cells against ours and `peers` (the built-in servers) that `wanted` takes,
 * servers taking turns within each repetition; returns the report's section, empty without
 * `wrk`.
 */
export async function benchHttp(
  peers: ServerSpec[],
  options: {
    reps: number;
    seconds: number;
    warmup: number;
    wanted(spec: ServerSpec): boolean;
  },
): Promise<string> {
  if (!await has("wrk")) {
    console.error(
      "skipping the HTTP cells: wrk is not installed (apt-get install wrk)",
    );
    return "";
  }
  const servers: ServerSpec[] = [];
  for (const spec of [...OURS, ...peers].filter(options.wanted)) {
    if (await has(spec.command[0])) servers.push(spec);
  }
  if (servers.length === 0) return "";
  const cells: LoadCell[] = CONNECTIONS.map((n) => ({
    id: `GET-c${n}`,
    args: [],
  }));
  const results = new Results();
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const spec of servers) {
      const server = await startServer(spec);
      try {
        for (const [i, cell] of cells.entries()) {
          if (options.warmup > 0) {
            await wrk(server.port, CONNECTIONS[i], options.warmup);
          }
          const result = parseWrk(
            await wrk(server.port, CONNECTIONS[i], options.seconds),
          );
          console.error(
            `rep ${rep} ${spec.name.padEnd(30)} ${cell.id.padEnd(18)} ` +
              `${Math.round(result.msgs_per_s)} req/s  p50 ${result.p50_us} µs  ` +
              `p99 ${result.p99_us} µs  errors ${result.verify_errors}`,
          );
          results.add(spec.name, cell.id, result);
        }
      } finally {
        await server.stop();
      }
    }
  }
  const pairs = servers.filter((spec) => OURS.includes(spec)).flatMap((spec) =>
    peers.filter((peer) => servers.includes(peer) && peer.runtime === spec.runtime)
      .map((peer): [ServerSpec, ServerSpec] => [spec, peer])
  );
  return `\n## Plain HTTP\n\nA 13-byte answer to \`GET /\` on keep-alive connections (GET-c64: 64 ` +
    `of them), by \`wrk\` with one thread on core 1; requests/s, median of ${options.reps} ` +
    `repetitions of ${options.seconds} s. Ours answers through its \`fetch\` handler ` +
    `(bench/servers/ours_http.ts); errors are failed requests. No target yet.\n\n${
      cellTables(results, cells, servers, servers[0], pairs)
    }`;
}
