/**
 * Lets test files written for `deno test` run under `bun test`: preloaded with
 * `bun test --preload ./tests/deno_test_on_bun.ts`, it gives them a `Deno.test` that registers
 * each test with Bun's runner. The protocol core's unit tests use nothing else of `Deno`.
 */

import { test } from "bun:test";

type TestFunction = () => void | Promise<void>;

if (!("Deno" in globalThis)) {
  Object.defineProperty(globalThis, "Deno", {
    value: {
      test(name: string, fn: TestFunction): void {
        test(name, fn);
      },
    },
  });
}
