/**
 * The idle timeout: no message either way for `idleTimeoutMs` closes the connection with 1001
 * "idle timeout" (a normal close handshake). Messages in either direction keep it open;
 * keepalive pings and pongs do not, or keepalive would keep every idle connection open for ever.
 * The timings, the server's own messages and the handler's time are pinned on a fake clock in
 * `tests/websocket_test.ts`; here the server runs as a process on each runtime, with real clients.
 */

import { assert, assertEquals } from "@std/assert";
import { Opcode } from "../../mod.ts";
import { delay, TestClient } from "../helpers/client.ts";
import { closePayload, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { testConfigured } from "../helpers/server.ts";

const IDLE_MS = 400;
/** How late the close may be on a loaded machine. */
const SLACK_MS = 600;

testConfigured(
  "idle: a connection with no message either way is closed with 1001, pings and pongs not counting",
  { idleTimeoutMs: IDLE_MS, pingIntervalMs: 100, pingTimeoutMs: 100 },
  "echo",
  async (server) => {
    await using client = await RawClient.open(server.port);
    let pongs = 0;
    for (;;) {
      const next = await client.nextFrame(IDLE_MS + SLACK_MS);
      if (next?.opcode !== Opcode.Ping) {
        assertEquals(next?.opcode, Opcode.Close);
        assertEquals(next!.payload, closePayload(1001, "idle timeout"));
        break;
      }
      await client.write(frame(Opcode.Pong, next.payload));
      pongs++;
    }
    assert(pongs >= 2, `only ${pongs} pings came before the close`);
    // A close handshake like any other: the client answers, the server ends TCP.
    await client.write(frame(Opcode.Close, closePayload(1001)));
    assertEquals(await client.nextFrame(), null);
    const closed = await server.waitFor("closed");
    assertEquals(closed, { event: "closed", code: 1001, reason: "", wasClean: true });
  },
);

testConfigured(
  "idle: messages from the client keep the connection open past the timeout",
  { idleTimeoutMs: IDLE_MS },
  "echo",
  async (server) => {
    await using client = await TestClient.open(`ws://127.0.0.1:${server.port}/`);
    // Two timeouts long, a message every 150 ms.
    for (let i = 0; i < 6; i++) {
      if (i > 0) await delay(150);
      client.send(`message ${i}`);
      assertEquals(await client.next(), `message ${i}`);
    }
    assertEquals(await client.waitClosed(IDLE_MS + SLACK_MS), {
      code: 1001,
      reason: "idle timeout",
      wasClean: true,
    });
  },
);
