/**
 * The command line: `parseArgs` on a table of good and bad arguments, and `mod.ts` run as a real
 * process, on Deno, on Bun and on Node, for its exit codes and what it prints.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { type CliOptions, parseArgs, USAGE, UsageError } from "../src/cli_args.ts";
import { delay, TestClient, withTimeout } from "./helpers/client.ts";
import { type Finished, runToEnd } from "./helpers/process.ts";
import { RawClient, upgradeRequest } from "./helpers/raw_client.ts";
import { cliCommand, type Runtime, RUNTIMES, testCli } from "./helpers/server.ts";

const DEFAULTS: CliOptions = {
  port: 8000,
  hostname: "0.0.0.0",
  maxConnections: 10_000,
  maxMessageBytes: 64 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  deflate: false,
  rooms: false,
  workers: 1,
  help: false,
};

const goodArgs: [args: string[], expected: CliOptions][] = [
  [[], DEFAULTS],
  [["--port=9000"], { ...DEFAULTS, port: 9000 }],
  [["--port", "9000"], { ...DEFAULTS, port: 9000 }],
  [["--port", "0"], { ...DEFAULTS, port: 0 }],
  [["--port", "65535"], { ...DEFAULTS, port: 65535 }],
  [["--hostname", "::1"], { ...DEFAULTS, hostname: "::1" }],
  [["--hostname=::1"], { ...DEFAULTS, hostname: "::1" }],
  [["--hostname", "127.0.0.1", "--port", "8080"], {
    ...DEFAULTS,
    port: 8080,
    hostname: "127.0.0.1",
  }],
  [["--max-connections", "1"], { ...DEFAULTS, maxConnections: 1 }],
  [["--max-connections=250000"], { ...DEFAULTS, maxConnections: 250_000 }],
  [["--max-message-bytes", "1048576"], { ...DEFAULTS, maxMessageBytes: 1_048_576 }],
  [["--max-header-bytes=8192"], { ...DEFAULTS, maxHeaderBytes: 8192 }],
  [
    [
      "--max-connections",
      "5",
      "--max-message-bytes",
      "1",
      "--max-header-bytes",
      "9007199254740991",
    ],
    {
      ...DEFAULTS,
      maxConnections: 5,
      maxMessageBytes: 1,
      maxHeaderBytes: Number.MAX_SAFE_INTEGER,
    },
  ],
  [["--port", "1", "--port", "2"], { ...DEFAULTS, port: 2 }],
  [["--cert", "c.pem", "--key=k.pem"], { ...DEFAULTS, cert: "c.pem", key: "k.pem" }],
  [["--deflate"], { ...DEFAULTS, deflate: true }],
  [["--no-deflate"], DEFAULTS],
  [["--deflate", "--no-deflate"], DEFAULTS],
  [["--no-deflate", "--deflate", "--port", "1"], { ...DEFAULTS, deflate: true, port: 1 }],
  [["--rooms"], { ...DEFAULTS, rooms: true }],
  [["--workers", "4"], { ...DEFAULTS, workers: 4 }],
  [["--workers=auto"], { ...DEFAULTS, workers: "auto" }],
  [["--redis", "redis://127.0.0.1:6379"], { ...DEFAULTS, redis: "redis://127.0.0.1:6379" }],
  [["--redis=rediss://cache.example:6380/0"], {
    ...DEFAULTS,
    redis: "rediss://cache.example:6380/0",
  }],
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
  [["--cert", "c.pem"], "--cert and --key go together"],
  [["--key", "k.pem"], "--cert and --key go together"],
  [["--cert"], "--cert needs a value"],
  [["--max-connections", "0"], "--max-connections must be a whole number of 1 or more, not 0"],
  [["--max-connections", "-5"], "--max-connections must be a whole number of 1 or more, not -5"],
  [["--max-connections", "ten"], "--max-connections must be a whole number of 1 or more, not ten"],
  [["--max-connections"], "--max-connections needs a value"],
  [
    ["--max-message-bytes", "1.5"],
    "--max-message-bytes must be a whole number of 1 or more, not 1.5",
  ],
  [
    ["--max-message-bytes", "64MiB"],
    "--max-message-bytes must be a whole number of 1 or more, not 64MiB",
  ],
  [["--max-message-bytes="], "--max-message-bytes needs a value"],
  [
    ["--max-header-bytes", "1e4"],
    "--max-header-bytes must be a whole number of 1 or more, not 1e4",
  ],
  [
    ["--max-header-bytes", "9007199254740992"],
    "--max-header-bytes must be a whole number of 1 or more, not 9007199254740992",
  ],
  [["--deflate=yes"], "--deflate takes no value"],
  [["--rooms=lobby"], "--rooms takes no value"],
  [["--workers", "0"], "--workers must be auto or a whole number from 1 to 256, not 0"],
  [["--workers", "many"], "--workers must be auto or a whole number from 1 to 256, not many"],
  [["--workers", "257"], "--workers must be auto or a whole number from 1 to 256, not 257"],
  [["--workers"], "--workers needs a value"],
  [["--redis", "http://a"], "--redis must be a redis:// or rediss:// URL, not http://a"],
  [["--redis", "nonsense"], "--redis must be a redis:// or rediss:// URL, not nonsense"],
  [["--no-deflate="], "--no-deflate takes no value"],
  [["--max-connection", "5"], "unknown argument --max-connection"],
  [["--constructor", "5"], "unknown argument --constructor"],
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

  Deno.test(`[${runtime}] cli: a bad limit exits 2 with one error line on stderr`, async () => {
    assertEquals(await runCli(runtime, ["--max-connections", "0"]), {
      code: 2,
      stdout: "",
      stderr: "error: --max-connections must be a whole number of 1 or more, not 0 (see --help)\n",
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

  Deno.test(`[${runtime}] cli: a TLS file that cannot be read exits 1 with one error line`, async () => {
    const missing = "/nonexistent/cert.pem";
    const finished = await runCli(runtime, ["--port", "0", "--cert", missing, "--key", missing]);
    assertEquals([finished.code, finished.stdout], [1, ""]);
    assertEquals(finished.stderr.split("\n").length, 2, finished.stderr);
    assertStringIncludes(finished.stderr, "error: cannot read the TLS certificate or key: ");
  });
}

testCli(
  "cli: --max-connections 1 refuses a second WebSocket with 503 and serves it once the first ends",
  async ({ port }) => {
    const url = `ws://127.0.0.1:${port}/`;
    const first = await TestClient.open(url);
    try {
      first.send("first");
      assertEquals(await first.next(), "first");
      await using raw = await RawClient.connect(port);
      await raw.write(upgradeRequest());
      const refusal = await withTimeout(raw.readAll(), "the refusal");
      assertEquals(refusal.split("\r\n")[0], "HTTP/1.1 503 Service Unavailable");
      assert(refusal.endsWith("\r\n\r\ntoo many connections\n"), refusal);
    } finally {
      await first.close();
    }
    // The slot frees once the server has ended TCP, a moment after the client's close event.
    const deadline = performance.now() + 2000;
    for (;;) {
      try {
        await using second = await TestClient.open(url);
        second.send("second");
        assertEquals(await second.next(), "second");
        break;
      } catch (error) {
        if (performance.now() > deadline) throw error;
        await delay(20);
      }
    }
  },
  ["--max-connections", "1"],
);

testCli("cli: --max-message-bytes and --max-header-bytes set the limits", async ({ port }) => {
  await using client = await TestClient.open(`ws://127.0.0.1:${port}/`);
  client.send("x".repeat(1000));
  assertEquals(await client.next(), "x".repeat(1000));
  client.send("x".repeat(1001));
  assertEquals(await client.waitClosed(), {
    code: 1009,
    reason: "message over 1000 bytes",
    wasClean: true,
  });
  await using raw = await RawClient.connect(port);
  await raw.write(upgradeRequest("/", `X-Padding: ${"p".repeat(600)}\r\n`));
  const response = await withTimeout(raw.readAll(), "the 431");
  assertEquals(response.split("\r\n")[0], "HTTP/1.1 431 Request Header Fields Too Large");
}, ["--max-message-bytes", "1000", "--max-header-bytes", "512"]);
