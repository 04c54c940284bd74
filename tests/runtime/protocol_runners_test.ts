/**
 * The protocol core's unit tests, unchanged, under Bun's own test runner: `bun test` with
 * `tests/deno_test_on_bun.ts` (which gives the files their `Deno.test`) and `tests/bun_offline.ts`
 * (which serves `@std` as on a machine without JSR).
 */

import { assertEquals } from "@std/assert";
import { runToEnd } from "../helpers/process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("bun: every unit test of the protocol core passes under bun test", async () => {
  const files = [...Deno.readDirSync(`${ROOT}tests/protocol`)]
    .filter((entry) => entry.name.endsWith("_test.ts")).length;
  const command = new Deno.Command("bun", {
    args: [
      "test",
      "--preload=./tests/bun_offline.ts",
      "--preload=./tests/deno_test_on_bun.ts",
      "tests/protocol",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const { code, stdout, stderr } = await runToEnd(command, "bun test", 120_000);
  // Bun prints its summary on stderr: " 181 pass", " 0 fail", "Ran 181 tests across 10 files."
  const output = stdout + stderr;
  const ran = /Ran (\d+) tests? across (\d+) files?/.exec(output);
  const passed = Number(/^\s*(\d+) pass$/m.exec(output)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail$/m.exec(output)?.[1] ?? -1);
  assertEquals(
    { code, failed, files: Number(ran?.[2] ?? 0), allPassed: passed === Number(ran?.[1]) },
    { code: 0, failed: 0, files, allPassed: true },
    output.slice(-2000),
  );
});
