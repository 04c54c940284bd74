/**
 * The idle timeout: no message either way for `idleTimeoutMs` closes the connection with 1001
 * "idle timeout" (a normal close handshake). Messages in either direction keep it open, the
 * server's alone included; keepalive pings and pongs do not, or keepalive would keep every idle
 * connection open for ever.
 */

import { assert, assertEquals } from "@std/assert";
import { connect, Opcode } from "../../mod.ts";
import { delay, TestClient, withTimeout } from "../helpers/client.ts";
import { closePayload, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer, testConfigured } from "../helpers/server.ts";

const IDLE_MS = 400;
/** How late the close may be on a loaded machine. */
const SLACK_MS = 600;

/** Asserts `elapsedMs` is about `IDLE_MS` after the last message. */
function assertAboutIdle(elapsedMs: number): void {
  assert(
    elapsedMs >= IDLE_MS * 0.85 && elapsedMs < IDLE_MS + SLACK_MS,
    `closed ${elapsedMs} ms after the last message, not about ${IDLE_MS}`,
  );
}

testConfigured(
  "idle: a connection with no message either way is closed with 1001, pings and pongs not counting",
  { idleTimeoutMs: IDLE_MS, pingIntervalMs: 100, pingTimeoutMs: 100 },
  "echo",
  async (server) => {
    await using client = await RawClient.open(server.port);
    const opened = performance.now();
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
    assertAboutIdle(performance.now() - opened);
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
    const lastMessage = performance.now();
    assertEquals(await client.waitClosed(IDLE_MS + SLACK_MS), {
      code: 1001,
      reason: "idle timeout",
      wasClean: true,
    });
    assertAboutIdle(performance.now() - lastMessage);
  },
);

Deno.test("idle: messages from the server alone keep the connection open", async () => {
  let ticks = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  await using server = startServer({
    idleTimeoutMs: IDLE_MS,
    onOpen: (connection) => {
      timer = setInterval(() => {
        if (++ticks === 6) clearInterval(timer);
        connection.send(`tick ${ticks}`);
      }, 150);
    },
  }, () => {});
  try {
    await using client = await TestClient.open(server.url());
    // The client only listens.
    const ticksSeen = await client.collect(6, 6 * 150 + SLACK_MS);
    assertEquals(ticksSeen, Array.from({ length: 6 }, (_, i) => `tick ${i + 1}`));
    const lastTick = performance.now();
    assertEquals((await client.waitClosed(IDLE_MS + SLACK_MS)).code, 1001);
    assertAboutIdle(performance.now() - lastTick);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("idle: time the handler spends on a message does not count", async () => {
  await using server = startServer({ idleTimeoutMs: IDLE_MS }, async (message) => {
    await delay(3 * IDLE_MS);
    return message;
  });
  await using client = await TestClient.open(server.url());
  client.send("slow");
  assertEquals(await client.next(4 * IDLE_MS), "slow");
});

Deno.test("idle: our client closes a quiet connection with 1001", async () => {
  await using server = startServer({ idleTimeoutMs: 0 }, (message) => message);
  const connection = await connect(server.url(), { idleTimeoutMs: IDLE_MS });
  const opened = performance.now();
  const closed = await withTimeout(connection.closed, "the client's close", IDLE_MS + SLACK_MS);
  // The server echoes the client's close.
  assertEquals(closed, { code: 1001, reason: "idle timeout", wasClean: true });
  assertAboutIdle(performance.now() - opened);
});
