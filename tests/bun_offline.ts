/**
 * Bun's side of `tests/import_map.json`: preloaded with `bun --preload ./tests/bun_offline.ts`,
 * it serves every `@std/*` import that the import map sends to the npm package `deno-std` from
 * that package in `tests/node_modules` (`npm ci --prefix tests` installs it), so Bun runs the
 * server where JSR cannot be reached. One list, the import map, serves every runtime.
 *
 * A virtual module per specifier, not an `onResolve` hook: Bun 1.4 does not run runtime
 * `onResolve` hooks for bare specifiers without a file extension, such as
 * `@std/encoding/base64`.
 */

import importMap from "./import_map.json" with { type: "json" };

/** The part of Bun's plugin API used here. */
declare const Bun: {
  plugin(plugin: {
    name: string;
    setup(build: {
      module(
        specifier: string,
        load: () => Promise<{ exports: Record<string, unknown>; loader: "object" }>,
      ): void;
    }): void;
  }): void;
  resolveSync(specifier: string, from: string): string;
};

const DENO_STD = /^npm:deno-std@[^/]+\//;

Bun.plugin({
  name: "@std from deno-std",
  setup(build) {
    for (const [specifier, target] of Object.entries(importMap.imports)) {
      if (!DENO_STD.test(target)) continue;
      const file = Bun.resolveSync(target.replace(DENO_STD, "deno-std/"), import.meta.dirname!);
      build.module(specifier, async () => ({ exports: await import(file), loader: "object" }));
    }
  },
});
