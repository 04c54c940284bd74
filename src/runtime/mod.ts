/**
 * The runtime this process runs on, picked once at start-up: Bun's adapter when the `Bun` global
 * exists, Deno's when the `Deno` global does, Node's otherwise. Only the chosen adapter's module
 * is loaded. Code outside `src/runtime/` reaches the runtime only through {@linkcode runtime};
 * adding a capability means adding it to {@linkcode RuntimeAdapter} (`adapter.ts`) and to every
 * adapter.
 *
 * @module
 */

import type { RuntimeAdapter } from "./adapter.ts";

export type { RuntimeAdapter };

/**
 * This process's runtime adapter.
 *
 * @example
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 * const listener = runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(runtime.args(), listener.addr.port);
 * listener.close();
 * ```
 */
export const runtime: RuntimeAdapter = "Bun" in globalThis
  ? (await import("./bun.ts")).bun
  : "Deno" in globalThis
  ? (await import("./deno.ts")).deno
  : (await import("./node.ts")).node;
