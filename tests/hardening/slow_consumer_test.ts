/**
 * Memory stays bounded whoever is slow. A peer that does not read while the server floods it —
 * through a handler's replies, or through `connection.send()` calls nobody awaits — is closed
 * with 1008 (or, with `slowConsumer: "drop"`, loses messages instead of the connection); a peer
 * that sends faster than the handler takes is slowed down by TCP. The server runs as a process on
 * each runtime, and its resident memory (`VmRSS`) is watched while floods that would reach
 * gigabytes run.
 */

import { assert, assertEquals } from "@std/assert";
import { type Frame, Opcode } from "../../mod.ts";
import { closePayload, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { type ConfiguredServer, testConfigured } from "../helpers/server.ts";

const MiB = 1024 * 1024;
/** How much a server's memory may grow during a flood: far below what the flood amounts to. */
const RSS_GROWTH_BOUND_KIB = 64 * 1024;
const GRACE_MS = 500;
const FLOOD_MESSAGE_BYTES = 64 * 1024;

/** A server that finds slow consumers fast: 1 MiB of queue, half a second of grace. */
const SLOW_CONSUMER = {
  maxBufferedBytes: MiB,
  slowConsumerGraceMs: GRACE_MS,
  closeTimeoutMs: 500,
  pingIntervalMs: 0,
};

/** Samples the server's memory every 50 ms for `durationMs`; resolves with the largest, in KiB. */
async function peakRssKiB(server: ConfiguredServer, durationMs: number): Promise<number> {
  let peak = 0;
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    peak = Math.max(peak, await server.rssKiB());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return peak;
}

function assertRssBounded(peakKiB: number, baselineKiB: number): void {
  const growthMiB = (peakKiB - baselineKiB) / 1024;
  assert(
    peakKiB - baselineKiB < RSS_GROWTH_BOUND_KIB,
    `the server grew by ${growthMiB.toFixed(1)} MiB (from ${baselineKiB} KiB)`,
  );
}

/** Reads and drops bytes until TCP ends (a reset counts); resolves with how many came. */
async function drain(client: RawClient, timeoutMs = 5000): Promise<number> {
  const buffer = new Uint8Array(256 * 1024);
  let total = 0;
  const timer = setTimeout(() => client.close(), timeoutMs);
  try {
    for (;;) {
      const count = await client.conn.read(buffer);
      if (count === null) return total;
      total += count;
    }
  } catch {
    return total;
  } finally {
    clearTimeout(timer);
  }
}

/** The number at the start of a flood message. */
function floodNumber(message: Frame): number {
  assertEquals([message.opcode, message.payload.length], [Opcode.Binary, FLOOD_MESSAGE_BYTES]);
  return new DataView(message.payload.buffer, message.payload.byteOffset, 4).getUint32(0);
}

testConfigured(
  "slow consumer: unawaited sends to a peer that never reads close it with 1008 at twice the limit",
  SLOW_CONSUMER,
  "send-flood",
  async (server) => {
    const baseline = await server.rssKiB();
    await using client = await RawClient.open(server.port);
    const started = performance.now();
    const peak = await peakRssKiB(server, 1000);
    const error = await server.waitFor("error");
    assertEquals(error.name, "SlowConsumerError");
    // Well before the grace time: the queue reached 2 MiB in a few sends.
    assertEquals(await server.waitFor("closed"), {
      event: "closed",
      code: 1006,
      reason: "",
      wasClean: false,
      error: "SlowConsumerError",
    });
    assertRssBounded(peak, baseline);
    const ended = await server.waitFor("flood-ended");
    assert(ended.sent < 1000, JSON.stringify(ended));
    assert(/over 1048576/.test(error.message), error.message);
    // What reached the kernel's buffers before the close is readable; then TCP ends.
    const received = await drain(client);
    assert(received < 64 * MiB, `${received} bytes came`);
    assert(performance.now() - started < 5000);
  },
);

testConfigured(
  "slow consumer: a handler's endless replies to a peer that never reads wait, then close it with 1008 after the grace time",
  SLOW_CONSUMER,
  "reply-flood",
  async (server) => {
    const baseline = await server.rssKiB();
    await using client = await RawClient.open(server.port);
    await client.write(frame(Opcode.Text, "flood"));
    const started = performance.now();
    const peak = await peakRssKiB(server, 300);
    assertEquals((await server.waitFor("error", 5000)).name, "SlowConsumerError");
    const closedAfter = performance.now() - started;
    // The queue went over the limit once the kernel's buffers were full: soon, on loopback.
    assert(
      closedAfter >= GRACE_MS * 0.85 && closedAfter < GRACE_MS + 2000,
      `closed ${closedAfter} ms after the flood began`,
    );
    const closed = await server.waitFor("closed");
    assert(
      closed.event === "closed" && closed.error === "SlowConsumerError",
      JSON.stringify(closed),
    );
    assertRssBounded(Math.max(peak, await server.rssKiB()), baseline);
    assert(await drain(client) < 64 * MiB);
  },
);

testConfigured(
  "slow consumer: with drop, sends over the limit are dropped, memory stays bounded, the connection stays open",
  { ...SLOW_CONSUMER, slowConsumer: "drop", slowConsumerGraceMs: 0 },
  "send-flood",
  async (server) => {
    const baseline = await server.rssKiB();
    await using client = await RawClient.open(server.port);
    // The client reads nothing for a second while the server sends as fast as it can.
    const peak = await peakRssKiB(server, 1000);
    assertRssBounded(peak, baseline);
    // Then it reads: whole messages, in order, with a gap where sends were dropped.
    const numbers: number[] = [];
    while (numbers.length < 400) numbers.push(floodNumber((await client.nextFrame())!));
    const gaps = numbers.filter((number, i) => i > 0 && number !== numbers[i - 1] + 1);
    assert(gaps.length > 0, "no message was dropped");
    assert(numbers.every((number, i) => i === 0 || number > numbers[i - 1]), "out of order");
    assertEquals(numbers[0], 0);
    // Still open: a close handshake ends it cleanly.
    await client.write(frame(Opcode.Close, closePayload(1000, "enough")));
    let next: Frame | null;
    do next = await client.nextFrame(); while (next?.opcode === Opcode.Binary);
    assertEquals([next?.opcode, next?.payload], [Opcode.Close, closePayload(1000, "enough")]);
    const ended = await server.waitFor("flood-ended");
    assert(ended.dropped > 0, JSON.stringify(ended));
    // Most sends were dropped: the client took a few hundred.
    assert(ended.dropped > ended.sent / 2, JSON.stringify(ended));
    assertEquals(await server.waitFor("closed"), {
      event: "closed",
      code: 1000,
      reason: "enough",
      wasClean: true,
    });
    assertEquals(server.events().filter((event) => event.event === "error"), []);
  },
);

testConfigured(
  "flow control: a client sending as fast as it can to a handler that sleeps is slowed down by TCP",
  { pingIntervalMs: 0 },
  "slow-handler",
  async (server) => {
    const baseline = await server.rssKiB();
    await using client = await RawClient.open(server.port);
    const message = frame(Opcode.Binary, new Uint8Array(FLOOD_MESSAGE_BYTES));
    let written = 0;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        await client.write(message);
        written += message.length;
      }
    })();
    try {
      const peak = await peakRssKiB(server, 1500);
      assertRssBounded(peak, baseline);
      // A handler taking 100 ms a message reads about 10 a second: TCP held the client back,
      // where a server reading without bound would have taken gigabytes in 1.5 s.
      assert(written < 64 * MiB, `the client wrote ${written} bytes`);
    } finally {
      stop = true;
      client.close();
      await writing.catch(() => {});
    }
  },
);
