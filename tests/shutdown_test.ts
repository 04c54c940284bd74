import { assert, assertEquals } from "@std/assert";
import { TestClient, withTimeout } from "./helpers/client.ts";
import { RawClient } from "./helpers/raw_client.ts";
import { testCli } from "./helpers/server.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  testCli(
    `shutdown: on ${signal} every client gets 1001 after the echoes of all it sent before, and the process exits 0`,
    async (cli) => {
      const url = `ws://127.0.0.1:${cli.port}/`;
      await using busy = await TestClient.open(url);
      await using quiet = await TestClient.open(url);
      const sent = Array.from({ length: 300 }, (_, i) => `message ${i}`);
      for (const message of sent) busy.send(message);
      // The server is reading the burst: the read that brought this one is accepted in full.
      assertEquals(await busy.next(), sent[0]);
      cli.process.kill(signal);

      for (const client of [busy, quiet]) {
        assertEquals(await client.waitClosed(), {
          code: 1001,
          reason: "server shutting down",
          wasClean: true,
        });
      }
      // Whatever the server read before its close went out was answered, in order, with no gap.
      const echoes = busy.takeAll();
      assertEquals(echoes, sent.slice(1, 1 + echoes.length));
      const status = await withTimeout(cli.process.status, "the process's exit", 5000);
      assertEquals(status.code, 0);
      assert(cli.output().includes("Shutting down"), cli.output());
    },
  );
}

testCli(
  "shutdown: a second signal exits at once with 130, not waiting for close handshakes",
  async (cli) => {
    // A raw client that never answers the server's close: the first signal would wait closeTimeoutMs.
    await using raw = await RawClient.open(cli.port);
    cli.process.kill("SIGTERM");
    const close = await raw.nextFrame();
    assertEquals(close?.opcode, 0x8);
    const started = performance.now();
    cli.process.kill("SIGTERM");
    const status = await withTimeout(cli.process.status, "the process's exit", 3000);
    assertEquals(status.code, 130);
    assert(performance.now() - started < 3000);
  },
);
