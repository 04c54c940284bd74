/**
 * The Bun adapter (`src/runtime/bun.ts`), checked under Bun: `bun_checks.ts` runs as a Bun
 * process, and each of its checks becomes a step here. The adapter serving the whole server is
 * checked by the `[bun]` conformance and integration tests.
 */

import { assertEquals } from "@std/assert";
import { runToEnd } from "../helpers/process.ts";
import { scriptCommand } from "../helpers/server.ts";
import { CHECKS } from "./bun_checks.ts";

Deno.test("bun adapter: reads, backpressure, half-close, close and listen errors", async (t) => {
  const script = new URL("./bun_checks.ts", import.meta.url).pathname;
  const command = scriptCommand("bun", script, [], { stdout: "piped", stderr: "piped" });
  const { stdout, stderr } = await runToEnd(command, "bun_checks.ts", 60_000);
  const results: { check: string; error?: string }[] = stdout.trim().split("\n").filter(Boolean)
    .map((line) => JSON.parse(line));
  assertEquals(results.map(({ check }) => check), Object.keys(CHECKS), stderr);
  for (const { check, error } of results) {
    await t.step(check, () => assertEquals(error, undefined));
  }
});
