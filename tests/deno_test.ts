/**
 * Lets test files written for `deno test` run under Bun's and Node's own test runners: loaded
 * first (`bun test --preload ./tests/deno_test.ts`, `node --import ./tests/deno_test.ts --test`),
 * it gives them a `Deno.test` that registers each test with the runner of the runtime it is on.
 * The protocol core's unit tests use nothing else of `Deno`.
 */

type TestFunction = () => void | Promise<void>;

if (!("Deno" in globalThis)) {
  const { test } = "Bun" in globalThis ? await import("bun:test") : await import("node:test");
  Object.defineProperty(globalThis, "Deno", {
    value: {
      test(name: string, fn: TestFunction): void {
        test(name, fn);
      },
    },
  });
}
