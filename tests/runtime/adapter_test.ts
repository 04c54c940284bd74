/**
 * The adapters of the runtimes whose sockets push, Bun's and Node's (`src/runtime/bun.ts`,
 * `src/runtime/node.ts`), each checked on its own runtime: `adapter_checks.ts` runs there as a
 * process, and each of its checks becomes a step here. Deno's adapter is Deno's own sockets; it
 * and the others serving the whole server are checked by the conformance and integration tests
 * run once per runtime.
 */

import { assertEquals } from "@std/assert";
import { runToEnd } from "../helpers/process.ts";
import { type Runtime, scriptCommand } from "../helpers/server.ts";
import { makeCertificates } from "../helpers/tls.ts";
import { CHECKS } from "./adapter_checks.ts";

const SCRIPT = new URL("./adapter_checks.ts", import.meta.url).pathname;
const PUSHING_RUNTIMES: Runtime[] = ["bun", "node"];

for (const runtime of PUSHING_RUNTIMES) {
  Deno.test(`[${runtime}] adapter: reads, backpressure, half-close, close, listen errors, TLS`, async (t) => {
    const certificates = await makeCertificates();
    try {
      const command = scriptCommand(runtime, SCRIPT, [certificates.dir], {
        stdout: "piped",
        stderr: "piped",
        // A client checks certificates whatever the environment says.
        env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" },
      });
      const { stdout, stderr } = await runToEnd(command, "adapter_checks.ts", 60_000);
      const results: { check: string; error?: string }[] = stdout.trim().split("\n")
        .filter(Boolean).map((line) => JSON.parse(line));
      assertEquals(results.map(({ check }) => check), Object.keys(CHECKS), stderr);
      for (const { check, error } of results) {
        await t.step(check, () => assertEquals(error, undefined));
      }
    } finally {
      await Deno.remove(certificates.dir, { recursive: true });
    }
  });
}
