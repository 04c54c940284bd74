/**
 * Clients we did not write, besides Deno's own `WebSocket` (`deno_client_test.ts` runs that one
 * against the server on every runtime): Bun's `WebSocket` and Node's (undici's), run as Bun and
 * Node processes, and the `ws` npm package's client, run in this process; each against the CLI
 * on Deno, on Bun and on Node. And our own client on each runtime against the server on each
 * other.
 */

import { assertEquals } from "@std/assert";
import { firstDifference, patternBytes, withTimeout } from "../helpers/client.ts";
import { runtimePairs, startCli, testCli } from "../helpers/server.ts";
import { assertEchoClient } from "./echo_check.ts";
import { openWs } from "./ws_client.ts";

testCli("interop: Bun's WebSocket gets each message echoed and its close back", (cli) => {
  return assertEchoClient("bun", "websocket", `ws://127.0.0.1:${cli.port}/`);
});

testCli("interop: Node's WebSocket gets each message echoed and its close back", (cli) => {
  return assertEchoClient("node", "websocket", `ws://127.0.0.1:${cli.port}/`);
});

// Our own client and server, on every pair of different runtimes.
for (const [clientRuntime, serverRuntime] of runtimePairs()) {
  Deno.test(
    `interop: connect() on ${clientRuntime} gets each message echoed by the server on ${serverRuntime}, and its close back`,
    async () => {
      await using cli = await startCli(serverRuntime);
      await assertEchoClient(clientRuntime, "connect", `ws://127.0.0.1:${cli.port}/`);
    },
  );
}

testCli(
  "interop: the ws client gets echoes, a pong for its ping, and its close back",
  async (cli) => {
    await using session = await openWs(`ws://127.0.0.1:${cli.port}/`);
    const pong = new Promise<Uint8Array>((resolve) => {
      session.socket.once("pong", (data) => resolve(new Uint8Array(data)));
    });
    const sent = ["ws says ✓", patternBytes(1000, 5), patternBytes(1024 * 1024, 6)];
    for (const message of sent) session.send(message);
    session.socket.ping(new Uint8Array([1, 2, 3, 4]));
    assertEquals(await withTimeout(pong, "the pong"), new Uint8Array([1, 2, 3, 4]));
    const received = await session.collect(sent.length);
    assertEquals(received[0], sent[0]);
    for (const i of [1, 2]) {
      assertEquals(firstDifference(received[i] as Uint8Array, sent[i] as Uint8Array), -1);
    }
    assertEquals(await session.close(4002, "ws bye"), {
      code: 4002,
      reason: "ws bye",
      wasClean: true,
    });
  },
);
