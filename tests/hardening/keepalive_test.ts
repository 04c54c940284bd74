/**
 * Keepalive (RFC 6455 §5.5.2, §5.5.3): after `pingIntervalMs` with nothing from the peer, a ping;
 * if its pong does not come within `pingTimeoutMs`, a close with 1011 "keepalive ping timeout"
 * and the end of TCP. The timings, and pongs that do not count, are pinned on a fake clock in
 * `tests/websocket_test.ts`; here the server runs as a process on each runtime, seen from raw
 * clients that answer or do not, from Deno's `WebSocket`, and from our own client, which pings a
 * server the same way. Small timeouts keep each test short.
 */

import { assert, assertEquals, AssertionError } from "@std/assert";
import { CloseCode, connect, type Frame, Opcode } from "../../mod.ts";
import { delay, TestClient } from "../helpers/client.ts";
import { closePayload, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { type ConfiguredServer, testConfigured } from "../helpers/server.ts";

const INTERVAL_MS = 200;
const TIMEOUT_MS = 200;
const KEEPALIVE = { pingIntervalMs: INTERVAL_MS, pingTimeoutMs: TIMEOUT_MS };
/** How late a deadline may be on a loaded machine: the watchdog checks every 20 ms here. */
const SLACK_MS = 600;

/** The payload a keepalive ping carries: its sequence number, 4 bytes big-endian. */
function pingNumber(ping: Frame): number {
  assertEquals([ping.opcode, ping.payload.length], [Opcode.Ping, 4], "a keepalive ping");
  return new DataView(ping.payload.buffer, ping.payload.byteOffset, 4).getUint32(0);
}

/** The close code of a close frame. */
function closeCode(close: Frame | null): number {
  if (close === null) throw new AssertionError("TCP ended instead of a close frame");
  assertEquals(close.opcode, Opcode.Close, `opcode ${close.opcode} instead of a close`);
  return (close.payload[0] << 8) | close.payload[1];
}

/**
 * Reads frames for `durationMs`, answering each ping with `pong(payload)` (by default its echo);
 * returns the frames read, pings included.
 */
async function readAnswering(
  client: RawClient,
  durationMs: number,
  pong: (ping: Uint8Array) => Uint8Array = (payload) => payload,
): Promise<Frame[]> {
  const frames: Frame[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    let next: Frame | null;
    try {
      next = await client.nextFrame(Math.max(1, end - performance.now()));
    } catch {
      break; // Nothing more within the time.
    }
    if (next === null) break;
    frames.push(next);
    if (next.opcode === Opcode.Ping) await client.write(frame(Opcode.Pong, pong(next.payload)));
  }
  return frames;
}

/** The server's `closed` event, which must come within `timeoutMs`. */
function closedEvent(server: ConfiguredServer, timeoutMs = 3000) {
  return server.waitFor("closed", timeoutMs);
}

testConfigured(
  "keepalive: a peer that never answers is pinged after the interval and closed with 1011 after the timeout",
  KEEPALIVE,
  "echo",
  async (server) => {
    await using client = await RawClient.open(server.port);
    const ping = await client.nextFrame(INTERVAL_MS + SLACK_MS);
    assertEquals(pingNumber(ping!), 1);
    const close = await client.nextFrame(TIMEOUT_MS + SLACK_MS);
    assertEquals(closeCode(close), CloseCode.InternalError);
    assertEquals(close!.payload, closePayload(1011, "keepalive ping timeout"));
    // TCP ends at once: the server does not wait for a close from a peer that is not there.
    assertEquals(await client.nextFrame(SLACK_MS), null);
    const closed = await closedEvent(server);
    assertEquals(closed, {
      event: "closed",
      code: 1006,
      reason: "",
      wasClean: false,
      error: "KeepaliveTimeoutError",
    });
    // A dead peer is routine, not an error to report.
    assertEquals(server.events().filter((event) => event.event === "error"), []);
  },
);

testConfigured(
  "keepalive: a peer that answers every ping stays open across many intervals",
  { pingIntervalMs: 100, pingTimeoutMs: 100 },
  "echo",
  async (server) => {
    await using client = await RawClient.open(server.port);
    const frames = await readAnswering(client, 700);
    const pings = frames.filter((f) => f.opcode === Opcode.Ping).map(pingNumber);
    // About one every 100 ms of quiet, numbered in order.
    assert(pings.length >= 4, `${pings.length} pings in 700 ms`);
    assertEquals(pings, pings.map((_, i) => i + 1));
    assertEquals(frames.filter((f) => f.opcode !== Opcode.Ping), []);
    await client.write(frame(Opcode.Text, "still here"));
    const echo = (await readAnswering(client, 300)).filter((f) => f.opcode === Opcode.Text);
    assertEquals(echo.map((f) => new TextDecoder().decode(f.payload)), ["still here"]);
    await client.write(frame(Opcode.Close, closePayload(1000)));
    // A ping may still cross the close.
    let next: Frame | null;
    do next = await client.nextFrame(); while (next?.opcode === Opcode.Ping);
    assertEquals(closeCode(next), 1000);
    assertEquals((await closedEvent(server)).code, 1000);
  },
);

testConfigured(
  "keepalive: Deno's WebSocket, which answers pings itself, stays open",
  { pingIntervalMs: 100, pingTimeoutMs: 100 },
  "echo",
  async (server) => {
    await using client = await TestClient.open(`ws://127.0.0.1:${server.port}/`);
    await delay(600);
    client.send("after six intervals");
    assertEquals(await client.next(), "after six intervals");
    assertEquals(server.events(), []);
  },
);

testConfigured(
  "keepalive: our client pings a quiet server and stays open on its pongs",
  { pingIntervalMs: 0 },
  "echo",
  async (server) => {
    const connection = await connect(`ws://127.0.0.1:${server.port}/`, {
      pingIntervalMs: 100,
      pingTimeoutMs: 100,
    });
    try {
      await delay(600);
      assertEquals(connection.state, "open");
      await connection.send("after six intervals");
      assertEquals(await connection.receive(), "after six intervals");
    } finally {
      assertEquals(await connection.close(), { code: 1000, reason: "", wasClean: true });
    }
  },
);
