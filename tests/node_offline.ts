/**
 * Node's side of `tests/import_map.json`: imported first, with
 * `node --import ./tests/node_offline.ts`, it serves every `@std/*` import that the import map
 * sends to the npm package `deno-std` from that package in `tests/node_modules`
 * (`npm ci --prefix tests` installs it), so Node runs the server where JSR cannot be reached.
 * One list, the import map, serves all three runtimes.
 *
 * A resolve hook of `node:module`'s `registerHooks`, which runs in this thread and synchronously,
 * rather than `register`, whose hooks run in a worker thread of their own and would need a
 * second file to load there.
 */

import { registerHooks } from "node:module";
import importMap from "./import_map.json" with { type: "json" };

const DENO_STD = /^npm:deno-std@[^/]+\//;

/** Each specifier mapped to `deno-std`, to its module there (`deno-std/assert/mod.js`). */
const SERVED = new Map(
  Object.entries(importMap.imports)
    .filter(([, target]) => DENO_STD.test(target))
    .map(([specifier, target]) => [specifier, target.replace(DENO_STD, "deno-std/")]),
);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const served = SERVED.get(specifier);
    // Resolved as if imported from this file, so `tests/node_modules` is where it is found.
    return served === undefined
      ? nextResolve(specifier, context)
      : nextResolve(served, { ...context, parentURL: import.meta.url });
  },
});
