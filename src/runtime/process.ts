/**
 * The process as runtimes with Node's `process` object see it (Bun, and Node itself): the
 * arguments, exit, stop signals and files, written once for every such adapter.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { RuntimeAdapter } from "./adapter.ts";

const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * The process part of a {@linkcode RuntimeAdapter}, through `node:process` and `node:fs`.
 *
 * @example An adapter spreads it next to its own TCP functions
 * ```ts ignore
 * import { nodeProcess } from "./process.ts";
 * console.log(nodeProcess.args()); // ["--port", "9000"] for `bun mod.ts --port 9000`
 * ```
 */
export const nodeProcess: Pick<
  RuntimeAdapter,
  "args" | "mainModule" | "exit" | "readTextFile" | "onStopSignal"
> = {
  args: () => process.argv.slice(2),
  mainModule: () => pathToFileURL(process.argv[1]),
  exit: (code) => process.exit(code),
  readTextFile: (path) => readFile(path, "utf8"),
  onStopSignal(handler) {
    for (const signal of STOP_SIGNALS) process.on(signal, handler);
    return () => {
      for (const signal of STOP_SIGNALS) process.off(signal, handler);
    };
  },
};
