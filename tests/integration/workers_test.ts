/**
 * Workers: copies of the server on the threads of one process, sharing its port. Run as a real
 * process on Deno and on Bun: connections spread over the copies, topics reach every copy, and
 * one SIGTERM shuts them all down gracefully. (Node cannot share a port yet.)
 */

import { assert, assertEquals, assertGreater } from "@std/assert";
import { openMany, withTimeout } from "../helpers/client.ts";
import { cliCommand, scriptCommand, startServerProcess, testCli } from "../helpers/server.ts";

const WORKERS_SERVER = new URL("../helpers/workers_server.ts", import.meta.url).pathname;
const SHARING_RUNTIMES = ["deno", "bun"] as const;

for (const runtime of SHARING_RUNTIMES) {
  Deno.test(`[${runtime}] workers: 3 copies share one port, topics reach them all, and one SIGTERM stops them all with 1001`, async () => {
    const command = scriptCommand(runtime, WORKERS_SERVER, ["3"], {
      stdout: "piped",
      stderr: "inherit",
    });
    const server = await startServerProcess(command);
    let stopped = false;
    try {
      await using clients = await openMany(`ws://127.0.0.1:${server.port}/`, 24);
      const workers = new Set<unknown>();
      for (const client of clients) workers.add(await client.next());
      // 24 connections over 3 copies: all on one would take odds of about 1 in 10^11.
      assertGreater(workers.size, 1, `every connection went to ${[...workers]}`);
      for (const worker of workers) assert(/^worker [0-2]$/.test(String(worker)), String(worker));
      clients[0].send("to everyone");
      for (const client of clients) assertEquals(await client.next(), "to everyone");
      clients[23].send(new Uint8Array([1, 2, 3]));
      for (const client of clients) assertEquals(await client.next(), new Uint8Array([1, 2, 3]));
      server.process.kill("SIGTERM");
      for (const client of clients) {
        const closed = await withTimeout(client.closed, "the shutdown's close", 10_000);
        assertEquals(closed.code, 1001);
      }
      const status = await withTimeout(server.process.status, "the process's exit", 10_000);
      stopped = true;
      assertEquals(status.code, 0);
      assertEquals(server.output().match(/Listening on/g)?.length, 1, server.output());
    } finally {
      if (!stopped) await server[Symbol.asyncDispose]();
    }
  });
}

testCli(
  "workers: --workers 2 --rooms prints one line, and rooms work whichever copy a client lands on",
  async (cli) => {
    assertEquals(
      cli.output().match(/Listening on .*, rooms, workers: 2\n/g)?.length,
      1,
      cli.output(),
    );
    await using clients = await openMany(`ws://127.0.0.1:${cli.port}/rooms/a`, 10);
    // A round trip through the room tells each client it is subscribed.
    clients[0].send("hello");
    for (const client of clients) assertEquals(await client.next(), "hello");
  },
  ["--rooms", "--workers", "2"],
  SHARING_RUNTIMES,
);

Deno.test("workers: on Node, --workers 2 exits 1 with one line: Node cannot share a port", async () => {
  const { code, stderr } = await cliCommand("node", ["--port", "0", "--workers", "2"], {
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(stderr).trim().split("\n");
  assertEquals([code, lines.length], [1, 1], lines.join("\n"));
  assert(lines[0].startsWith("error: cannot listen on "), lines[0]);
});
