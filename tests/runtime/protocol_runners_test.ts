/**
 * The unit tests of the protocol core and of the connection layer around it, unchanged, under
 * Bun's and Node's own test runners, with `tests/deno_test.ts` (which gives the files their
 * `Deno.test`) and `tests/bun_offline.ts` or `tests/node_offline.ts` (which serve `@std` as on a
 * machine without JSR). The connection layer's run over an in-memory transport on a fake clock,
 * so only the runtime's own JavaScript is under test.
 */

import { assert, assertEquals } from "@std/assert";
import { runToEnd } from "../helpers/process.ts";
import { nodePath } from "../helpers/server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The connection layer's unit tests, each the test of one piece. */
const CONNECTION_LAYER = [
  "tests/websocket_test.ts",
  "tests/inbox_test.ts",
  "tests/outbox_test.ts",
  "tests/reply_pump_test.ts",
  "tests/read_loop_test.ts",
  "tests/connection_deadlines_test.ts",
  "tests/watchdog_test.ts",
  "tests/queue_test.ts",
  "tests/deadline_test.ts",
  "tests/runtime/push_reader_test.ts",
  "tests/request_body_test.ts",
  "tests/response_writer_test.ts",
  "tests/message_streams_test.ts",
  "tests/stream_pump_test.ts",
];

Deno.test("[bun] protocol: every unit test of the protocol core and the connection layer passes under bun test", async () => {
  const files = [...Deno.readDirSync(`${ROOT}tests/protocol`)]
    .filter((entry) => entry.name.endsWith("_test.ts")).length + CONNECTION_LAYER.length;
  const command = new Deno.Command("bun", {
    args: [
      "test",
      "--preload=./tests/bun_offline.ts",
      "--preload=./tests/deno_test.ts",
      "tests/protocol",
      ...CONNECTION_LAYER,
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

Deno.test("[node] protocol: every unit test of the protocol core and the connection layer passes under node --test", async () => {
  const command = new Deno.Command(nodePath(), {
    args: [
      "--import=./tests/node_offline.ts",
      "--import=./tests/deno_test.ts",
      "--test",
      "--test-reporter=tap",
      // Node expands the pattern itself; each file runs in a process of its own.
      "tests/protocol/*_test.ts",
      ...CONNECTION_LAYER,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await runToEnd(command, "node --test", 120_000);
  // The TAP summary: "# tests 393", "# pass 393", "# fail 0", "# cancelled 0". A file that
  // fails to load counts as a failed test, named for the file.
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(stdout)?.[1]);
  const [tests, passed, failed, cancelled] = ["tests", "pass", "fail", "cancelled"].map(count);
  assert(tests > 0, stdout.slice(-2000) + stderr);
  assertEquals(
    { code, passed, failed, cancelled },
    { code: 0, passed: tests, failed: 0, cancelled: 0 },
    stdout.slice(-2000) + stderr,
  );
});
