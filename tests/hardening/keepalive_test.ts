/**
 * Keepalive (RFC 6455 §5.5.2, §5.5.3): after `pingIntervalMs` with nothing from the peer, a ping;
 * if its pong does not come within `pingTimeoutMs`, a close with 1011 "keepalive ping timeout"
 * and the end of TCP. Seen from raw clients that answer or do not, from Deno's `WebSocket`, and
 * from our own client, which pings a server the same way. Small timeouts keep each test short.
 */

import { assert, assertEquals, assertInstanceOf, AssertionError } from "@std/assert";
import {
  CloseCode,
  connect,
  type Frame,
  KeepaliveTimeoutError,
  Opcode,
  type WebSocketConnection,
} from "../../mod.ts";
import { delay, TestClient, withTimeout } from "../helpers/client.ts";
import { closePayload, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { RawServer } from "../helpers/raw_server.ts";
import { type ConfiguredServer, startServer, testConfigured } from "../helpers/server.ts";

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
    const opened = performance.now();
    const ping = await client.nextFrame(INTERVAL_MS + SLACK_MS);
    const pingedAfter = performance.now() - opened;
    assertEquals(pingNumber(ping!), 1);
    assert(pingedAfter >= INTERVAL_MS * 0.85, `pinged after ${pingedAfter} ms`);
    const close = await client.nextFrame(TIMEOUT_MS + SLACK_MS);
    const closedAfter = performance.now() - opened;
    assertEquals(closeCode(close), CloseCode.InternalError);
    assertEquals(close!.payload, closePayload(1011, "keepalive ping timeout"));
    assert(
      closedAfter >= (INTERVAL_MS + TIMEOUT_MS) * 0.85 &&
        closedAfter < INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
      `closed after ${closedAfter} ms, not about ${INTERVAL_MS + TIMEOUT_MS}`,
    );
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

/** An `onOpen` hook and the promise of the first connection it sees. */
function firstConnection() {
  const { promise, resolve } = Promise.withResolvers<WebSocketConnection>();
  return { onOpen: resolve, connection: () => withTimeout(promise, "the server's onOpen") };
}

Deno.test("keepalive: a pong with another payload does not answer the ping", async () => {
  const first = firstConnection();
  await using server = startServer({ ...KEEPALIVE, onOpen: first.onOpen }, (m) => m);
  await using client = await RawClient.open(server.port);
  const frames = await readAnswering(
    client,
    INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
    () => new Uint8Array([9, 9, 9, 9]),
  );
  assertEquals(frames.map((f) => f.opcode), [Opcode.Ping, Opcode.Close]);
  assertEquals(closeCode(frames[1]), 1011);
  const closed = await withTimeout((await first.connection()).closed, "closed");
  assertInstanceOf(closed.error, KeepaliveTimeoutError);
  const { timeoutMs } = closed.error as KeepaliveTimeoutError;
  assertEquals([closed.code, closed.wasClean, timeoutMs], [1006, false, TIMEOUT_MS]);
});

Deno.test("keepalive: no ping while the peer keeps talking", async () => {
  await using server = startServer(KEEPALIVE, (m) => m);
  await using client = await RawClient.open(server.port);
  const talking = (async () => {
    for (let i = 0; i < 12; i++) {
      await client.write(frame(Opcode.Text, `message ${i}`));
      await delay(50);
    }
  })();
  const frames = await readAnswering(client, 600);
  await talking;
  assertEquals(frames.map((f) => f.opcode), Array(12).fill(Opcode.Text));
});

Deno.test("keepalive: a pingTimeoutMs of 0 keeps pinging without waiting for pongs", async () => {
  await using server = startServer({ pingIntervalMs: 100, pingTimeoutMs: 0 }, (m) => m);
  await using client = await RawClient.open(server.port);
  // Read, never answer: pings keep coming, and nothing closes.
  const frames: Frame[] = [];
  const end = performance.now() + 700;
  while (performance.now() < end) {
    try {
      frames.push((await client.nextFrame(Math.max(1, end - performance.now())))!);
    } catch {
      break;
    }
  }
  const pings = frames.map(pingNumber);
  assert(pings.length >= 3, `${pings.length} pings`);
  assertEquals(pings, pings.map((_, i) => i + 1));
});

Deno.test("keepalive: our client closes with 1011 when the server never answers its ping", async () => {
  await using server = new RawServer();
  const connecting = connect(server.url(), {
    pingIntervalMs: INTERVAL_MS,
    pingTimeoutMs: TIMEOUT_MS,
  });
  const peer = await server.accept();
  const connection = await connecting;
  const opened = performance.now();
  // The client's frames are masked; the peer reads them as a server.
  assertEquals(pingNumber((await peer.nextFrame(INTERVAL_MS + SLACK_MS))!), 1);
  assertEquals(closeCode(await peer.nextFrame(TIMEOUT_MS + SLACK_MS)), 1011);
  assertEquals(await peer.nextFrame(SLACK_MS), null);
  const closedAfter = performance.now() - opened;
  assert(closedAfter < INTERVAL_MS + TIMEOUT_MS + SLACK_MS, `closed after ${closedAfter} ms`);
  const closed = await withTimeout(connection.closed, "the client's closed");
  assertEquals([closed.code, closed.wasClean, closed.error?.name], [
    1006,
    false,
    "KeepaliveTimeoutError",
  ]);
});
