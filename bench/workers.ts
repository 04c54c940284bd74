/**
 * The workers part of `deno task bench`: this server with `--workers 2` (two copies on two
 * threads of one process, sharing the port) next to one, on a few echo cells, on Deno and Bun.
 * The machine of the reference runs has 2 cores and the load generator takes core 1, so each
 * runs twice: pinned to core 0 as every other server is (the second worker has no core of its
 * own: this shows what workers cost), and to cores 0 and 1 (the workers then share core 1 with
 * the load generator), next to one worker pinned alike.
 */

import { cellTables } from "./report.ts";
import {
  type LoadCell,
  type Repetitions,
  runCells,
  type ServerSpec,
  withDenoFlags,
} from "./support.ts";

/** The echo cells it runs by default. */
export const WORKERS_CELLS = ["16B-c64-d16", "1KiB-c64-d16", "64KiB-c64-d1"];

/** `spec` (of `ours()`) with `workers` copies, pinned to `cores`. */
function variant(spec: ServerSpec, workers: number, cores: string): ServerSpec {
  const [name, runtime] = spec.name.split(" ");
  const what = [workers > 1 ? `${workers} workers` : "", cores !== "0" ? `cores ${cores}` : ""]
    .filter(Boolean).join(", ");
  // On Deno a worker reads its main module, and sharing a port takes --unstable-net.
  const command = workers > 1
    ? [...withDenoFlags(spec, ["--allow-read", "--unstable-net"]), "--workers", String(workers)]
    : spec.command;
  return { ...spec, name: what ? `${name} ${runtime}, ${what}` : spec.name, command, cores };
}

/**
 * Runs `cells` on each Deno and Bun spec of `current` (as `ours()` gives them) that `wanted`
 * takes, with 1 and 2 workers, on core 0 and on cores 0 and 1; returns the report's section.
 */
export async function benchWorkers(
  current: ServerSpec[],
  cells: LoadCell[],
  options: Repetitions & { wanted(spec: ServerSpec): boolean },
): Promise<string> {
  const groups = current.filter((spec) => spec.runtime !== "node" && options.wanted(spec))
    .map((spec) => ({
      one: variant(spec, 1, "0"),
      two: variant(spec, 2, "0"),
      oneOnBoth: variant(spec, 1, "0,1"),
      twoOnBoth: variant(spec, 2, "0,1"),
    }));
  const servers = groups.flatMap((group) => Object.values(group));
  if (servers.length === 0) return "";
  const results = await runCells(servers, cells, options);
  const pairs = groups.flatMap(({ one, two, oneOnBoth, twoOnBoth }): [ServerSpec, ServerSpec][] => [
    [two, one],
    [twoOnBoth, oneOnBoth],
    [twoOnBoth, one],
  ]);
  return `\n## Workers\n\nMedian of ${options.reps} repetitions of ${options.seconds} s; msgs/s. ` +
    `One worker is the server as in the first table; "cores 0,1" pins it to both cores, one of ` +
    `which the load generator also uses.\n\n${
      cellTables(results, cells, servers, servers[0], pairs)
    }`;
}
