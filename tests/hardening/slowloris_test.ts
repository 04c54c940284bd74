import { assert, assertEquals } from "@std/assert";
import { TestClient } from "../helpers/client.ts";
import { startServer } from "../helpers/server.ts";

const SLOW_CLIENTS = 300;
const HANDSHAKE_TIMEOUT_MS = 1500;
const REQUEST = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

/** Sends the request a byte every 50 ms; resolves with when the server cut it off, or null. */
async function dribble(port: number, stop: Promise<void>): Promise<number | null> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const cut = (async () => {
    try {
      await conn.read(new Uint8Array(1024));
    } catch {
      // A reset is a cut too.
    }
    return performance.now();
  })();
  let stopped = false;
  stop.then(() => stopped = true);
  try {
    for (const byte of REQUEST) {
      const winner = await Promise.race([
        cut.then(() => "cut"),
        new Promise((resolve) => setTimeout(resolve, 50)),
      ]);
      if (winner === "cut" || stopped) break;
      await conn.write(new Uint8Array([byte]));
    }
  } catch {
    // Writing to a connection the server has ended.
  }
  const ended = await Promise.race([cut, stop.then(() => null)]);
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  return ended;
}

Deno.test("slowloris: hundreds of byte-a-time handshakes are cut at the handshake timeout while a normal client is served at once", async () => {
  await using server = startServer({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }, (m) => m);
  const started = performance.now();
  const stop = Promise.withResolvers<void>();
  const slow = Array.from({ length: SLOW_CLIENTS }, () => dribble(server.port, stop.promise));
  // The request takes 150 bytes × 50 ms = 7.5 s to dribble out: far past the timeout.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = performance.now();
  await using client = await TestClient.open(server.url());
  client.send("still here");
  assertEquals(await client.next(), "still here");
  const servedMs = performance.now() - before;
  assert(servedMs < 1000, `a normal client waited ${servedMs.toFixed(0)} ms`);
  const guard = setTimeout(() => stop.resolve(), HANDSHAKE_TIMEOUT_MS + 4000);
  const cuts = await Promise.all(slow);
  clearTimeout(guard);
  const uncut = cuts.filter((at) => at === null).length;
  assertEquals(uncut, 0, `${uncut} of ${SLOW_CLIENTS} slow handshakes were never cut`);
  const latest = Math.max(...cuts.map((at) => at! - started));
  const earliest = Math.min(...cuts.map((at) => at! - started));
  assert(
    earliest >= HANDSHAKE_TIMEOUT_MS - 50,
    `cut after ${earliest.toFixed(0)} ms, before the timeout`,
  );
  assert(latest < HANDSHAKE_TIMEOUT_MS + 2500, `the last was cut after ${latest.toFixed(0)} ms`);
});

Deno.test("slowloris: with handshakeTimeoutMs 0 a handshake may take its time", async () => {
  await using server = startServer({ handshakeTimeoutMs: 0 }, (m) => m);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    for (const piece of [REQUEST.subarray(0, 20), REQUEST.subarray(20)]) {
      await conn.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const response = new Uint8Array(256);
    const count = await conn.read(response);
    assert(new TextDecoder().decode(response.subarray(0, count ?? 0)).startsWith("HTTP/1.1 101"));
  } finally {
    conn.close();
  }
});
