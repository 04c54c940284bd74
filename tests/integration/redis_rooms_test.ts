/**
 * Rooms across processes over a real `redis-server`: three room servers (`mod.ts --rooms
 * --redis`), on Deno, Bun and Deno again, with clients spread over them. Every publish reaches
 * every client of the room once, in order per publisher; while Redis is down the servers stay up
 * and each room goes on within its own process, what crosses processes is lost and reported; and
 * once Redis is back, delivery across processes resumes.
 */

import { assert, assertEquals } from "@std/assert";
import { delay, TestClient } from "../helpers/client.ts";
import { type RedisServer, startRedis } from "../helpers/redis.ts";
import {
  cliCommand,
  type Runtime,
  type ServerProcess,
  startServerProcess,
} from "../helpers/server.ts";

const ROOM = "/rooms/r";
const SERVERS: Runtime[] = ["deno", "bun", "deno"];
const PER_PUBLISHER = 100;

/** Waits until Redis counts `count` subscribers of the room's channel. */
async function subscribed(redis: RedisServer, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [, subscribers] = await redis.cli("PUBSUB", "NUMSUB", `wsd:${ROOM}`);
    if (Number(subscribers) === count) return;
    if (performance.now() > deadline) throw new Error(`${subscribers} subscribers, not ${count}`);
    await delay(50);
  }
}

/** The messages `client` receives until it has `count`, in order. */
async function received(client: TestClient, count: number): Promise<string[]> {
  return (await client.collect(count, 10_000)).map(String);
}

/** Checks `messages` hold each publisher's `sent` once each and in order, and nothing else. */
function assertOncePerPublisher(messages: string[], sent: string[][]): void {
  for (const publisher of sent) {
    const prefix = publisher[0].split("-")[0] + "-";
    assertEquals(messages.filter((message) => message.startsWith(prefix)), publisher);
  }
  assertEquals(messages.length, sent.flat().length);
}

/** Everything a process printed on stderr so far, read as it comes. */
function stderrOf(server: ServerProcess): () => string {
  let text = "";
  const reading = server.process.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  reading.catch(() => {});
  return () => text;
}

/** Waits until `read()` holds `pattern`. */
async function printed(read: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pattern.test(read())) {
    if (performance.now() > deadline) {
      throw new Error(`no ${pattern} within ${timeoutMs} ms: ${read()}`);
    }
    await delay(50);
  }
}

Deno.test("rooms over Redis: 3 servers on Deno and Bun deliver every publish once and in order per publisher, survive Redis going away, and deliver again once it is back", async () => {
  await using redis = await startRedis();
  const servers: ServerProcess[] = [];
  const stderr: (() => string)[] = [];
  try {
    for (const runtime of SERVERS) {
      const command = cliCommand(
        runtime,
        ["--hostname", "127.0.0.1", "--port", "0", "--rooms", "--redis", redis.url],
        { stdout: "piped", stderr: "piped" },
      );
      const server = await startServerProcess(command);
      servers.push(server);
      stderr.push(stderrOf(server));
    }
    // Two clients on each server; the first of each publishes.
    const clients = await Promise.all(
      servers.flatMap((server) =>
        [0, 1].map(() => TestClient.open(`ws://127.0.0.1:${server.port}${ROOM}`))
      ),
    );
    try {
      await subscribed(redis, 3);
      const publishers = [clients[0], clients[2], clients[4]];
      const round = (label: string) =>
        publishers.map((_, p) =>
          Array.from({ length: PER_PUBLISHER }, (_, i) => `${label}${p}-${i}`)
        );
      const before = round("before");
      for (let i = 0; i < PER_PUBLISHER; i++) {
        for (const [p, publisher] of publishers.entries()) publisher.send(before[p][i]);
      }
      for (const client of clients) assertOncePerPublisher(await received(client, 300), before);

      // Redis goes away: each server goes on, its own room members still hear each other.
      await redis.kill();
      publishers[0].send("during0-0");
      assertEquals(await received(clients[0], 1), ["during0-0"]);
      assertEquals(await received(clients[1], 1), ["during0-0"]);
      await delay(300);
      assertEquals(clients[2].takeAll(), [], "a publish during the outage crossed processes");

      await redis.restart();
      // Each server says when it is back, able to publish and to receive again.
      for (const read of stderr) await printed(read, /reconnected/);
      await subscribed(redis, 3);
      const after = round("after");
      for (let i = 0; i < PER_PUBLISHER; i++) {
        for (const [p, publisher] of publishers.entries()) publisher.send(after[p][i]);
      }
      for (const client of clients) assertOncePerPublisher(await received(client, 300), after);
    } finally {
      await Promise.all(clients.map((client) => client[Symbol.asyncDispose]()));
    }
  } finally {
    const reports: string[] = [];
    for (const [i, server] of servers.entries()) {
      server.process.kill("SIGTERM");
      const status = await server.process.status;
      assertEquals(status.code, 0, stderr[i]());
      reports.push(stderr[i]());
    }
    // Each server told of the outage and of its end, with what was lost.
    for (const stderr of reports) {
      assert(/disconnected/.test(stderr) && /reconnected/.test(stderr), stderr);
    }
    assert(/reconnected[^\n]*\b1\b/.test(reports[0]), `the first server lost 1: ${reports[0]}`);
  }
});
