/**
 * The command line: `parseArgs` on a table of good and bad arguments, and `mod.ts` run as a real
 * process, on Deno and on Bun, for its exit codes and what it prints.
 */

import { assertEquals, assertThrows } from "@std/assert";
import { type CliOptions, parseArgs, USAGE, UsageError } from "../src/cli.ts";
import { type Finished, runToEnd } from "./helpers/process.ts";
import { cliCommand, type Runtime, RUNTIMES } from "./helpers/server.ts";

const DEFAULTS: CliOptions = { port: 8000, hostname: "0.0.0.0", help: false };

const goodArgs: [args: string[], expected: CliOptions][] = [
  [[], DEFAULTS],
  [["--port=9000"], { ...DEFAULTS, port: 9000 }],
  [["--port", "9000"], { ...DEFAULTS, port: 9000 }],
  [["--port", "0"], { ...DEFAULTS, port: 0 }],
  [["--port", "65535"], { ...DEFAULTS, port: 65535 }],
  [["--hostname", "::1"], { ...DEFAULTS, hostname: "::1" }],
  [["--hostname=::1"], { ...DEFAULTS, hostname: "::1" }],
  [["--hostname", "127.0.0.1", "--port", "8080"], {
    port: 8080,
    hostname: "127.0.0.1",
    help: false,
  }],
  [["--port", "1", "--port", "2"], { ...DEFAULTS, port: 2 }],
  [["--help"], { ...DEFAULTS, help: true }],
  [["-h"], { ...DEFAULTS, help: true }],
  [["--port", "9000", "-h"], { ...DEFAULTS, port: 9000, help: true }],
];

for (const [args, expected] of goodArgs) {
  Deno.test(`cli: parseArgs(${JSON.stringify(args)}) gives ${JSON.stringify(expected)}`, () => {
    assertEquals(parseArgs(args), expected);
  });
}

const badArgs: [args: string[], message: string][] = [
  [["--bogus"], "unknown argument --bogus"],
  [["--bogus=1"], "unknown argument --bogus=1"],
  [["9000"], "unknown argument 9000"],
  [["--port", "abc"], "--port must be a whole number from 0 to 65535, not abc"],
  [["--port", "70000"], "--port must be a whole number from 0 to 65535, not 70000"],
  [["--port", "65536"], "--port must be a whole number from 0 to 65535, not 65536"],
  [["--port", "-1"], "--port must be a whole number from 0 to 65535, not -1"],
  [["--port", "80.5"], "--port must be a whole number from 0 to 65535, not 80.5"],
  [["--port"], "--port needs a value"],
  [["--port="], "--port needs a value"],
  [["--hostname"], "--hostname needs a value"],
];

for (const [args, message] of badArgs) {
  Deno.test(`cli: parseArgs(${JSON.stringify(args)}) throws UsageError "${message}"`, () => {
    const error = assertThrows(() => parseArgs(args), UsageError);
    assertEquals(error.message, message);
  });
}

/** Runs `mod.ts ...args` on `runtime` and waits for it to exit. */
function runCli(runtime: Runtime, args: string[]): Promise<Finished> {
  const command = cliCommand(runtime, args, { stdin: "null", stdout: "piped", stderr: "piped" });
  return runToEnd(command, `${runtime} mod.ts ${args.join(" ")}`);
}

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] cli: an unknown argument exits 2 with one error line on stderr`, async () => {
    assertEquals(await runCli(runtime, ["--bogus"]), {
      code: 2,
      stdout: "",
      stderr: "error: unknown argument --bogus (see --help)\n",
    });
  });

  Deno.test(`[${runtime}] cli: a bad port exits 2 with one error line on stderr`, async () => {
    assertEquals(await runCli(runtime, ["--port", "70000"]), {
      code: 2,
      stdout: "",
      stderr: "error: --port must be a whole number from 0 to 65535, not 70000 (see --help)\n",
    });
  });

  for (const flag of ["--help", "-h"]) {
    Deno.test(`[${runtime}] cli: ${flag} exits 0 printing the usage`, async () => {
      const finished = await runCli(runtime, [flag]);
      assertEquals(finished, { code: 0, stdout: `${USAGE}\n`, stderr: "" });
      assertEquals(finished.stdout.split("\n")[0], "Usage: deno run --allow-net mod.ts [options]");
    });
  }

  Deno.test(`[${runtime}] cli: a port already taken exits 1 with one error line and no stack trace`, async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = taken.addr.port;
    assertEquals(await runCli(runtime, ["--hostname", "127.0.0.1", "--port", String(port)]), {
      code: 1,
      stdout: "",
      stderr: `error: cannot listen on 127.0.0.1:${port}: the address is already in use\n`,
    });
  });
}
