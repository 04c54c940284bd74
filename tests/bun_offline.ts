/**
 * Bun's side of `tests/import_map.json`: preloaded with `bun --preload ./tests/bun_offline.ts`,
 * it serves every import that the import map sends to an npm package installed in
 * `tests/node_modules` (`npm ci --prefix tests` installs those `tests/package.json` lists) from
 * that package: the `@std/*` imports from `deno-std`, so Bun runs the server where JSR cannot be
 * reached, and `@redis/client`. One list, the import map, serves every runtime.
 *
 * A virtual module per specifier, not an `onResolve` hook: Bun 1.4 does not run runtime
 * `onResolve` hooks for bare specifiers without a file extension, such as
 * `@std/encoding/base64`.
 */

import importMap from "./import_map.json" with { type: "json" };
import testPackages from "./package.json" with { type: "json" };

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

/** `npm:name@range/path`, `name` possibly scoped: the package name, and the path in it. */
const NPM_TARGET = /^npm:((?:@[^/@]+\/)?[^/@]+)@[^/]+(\/.*)?$/;
const installed = new Set(Object.keys(testPackages.devDependencies));

Bun.plugin({
  name: "import map from tests/node_modules",
  setup(build) {
    for (const [specifier, target] of Object.entries(importMap.imports)) {
      const [, name, path = ""] = NPM_TARGET.exec(target) ?? [];
      if (!name || !installed.has(name)) continue;
      const file = Bun.resolveSync(name + path, import.meta.dirname!);
      build.module(specifier, async () => ({ exports: await import(file), loader: "object" }));
    }
  },
});
