/**
 * The benchmark's tables of cells: a row per cell, a column per server (its median rate), and
 * the ratios of pairs of servers' medians.
 */

import {
  errorsAndLost,
  format,
  type LoadCell,
  markdownTable,
  type Results,
  type ServerSpec,
} from "./support.ts";

/** A column of a table with a row per cell: its title, and its entry for a cell. */
export interface Column {
  title: string;
  entry(cell: string): string;
}

/** A table of `cells`, one row each, with `columns`. */
export function cellTable(cells: LoadCell[], columns: Column[]): string {
  return markdownTable(
    ["cell", ...columns.map((column) => column.title)],
    cells.map((cell) => [cell.id, ...columns.map((column) => column.entry(cell.id))]),
  );
}

/** A column per server of `ran`: its median rate (msgs/s) in each cell. */
export function rateColumns(results: Results, ran: ServerSpec[]): Column[] {
  return ran.map((server) => ({
    title: server.name,
    entry: (cell) => {
      const value = results.median(server.name, cell);
      return value === undefined ? "–" : format(value);
    },
  }));
}

/** A column per pair of `pairs` whose two servers both ran: the ratio of their median rates. */
export function ratioColumns(
  results: Results,
  ran: ServerSpec[],
  pairs: [ServerSpec, ServerSpec][],
): Column[] {
  return pairs.filter((pair) => pair.every((server) => ran.includes(server)))
    .map(([over, under]) => ({
      title: `${over.name} ÷ ${under.name}`,
      entry: (cell) => {
        const [top, bottom] = [results.median(over.name, cell), results.median(under.name, cell)];
        return top === undefined || !bottom ? "–" : `${(top / bottom).toFixed(2)}×`;
      },
    }));
}

/**
 * The tables of `cells`: the median msgs/s of each server that `ran`, the latency of
 * `latencyOf`, and the errors and lost connections of them all; then, of the `pairs` whose two
 * servers both ran, the ratio of their medians.
 */
export function cellTables(
  results: Results,
  cells: LoadCell[],
  ran: ServerSpec[],
  latencyOf: ServerSpec,
  pairs: [ServerSpec, ServerSpec][],
): string {
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
  const ratios = ratioColumns(results, ran, pairs);
  return cellTable(cells, [...rateColumns(results, ran), latency, failures]) +
    (ratios.length > 0 ? "\n" + cellTable(cells, ratios) : "");
}
