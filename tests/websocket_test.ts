/**
 * One connection run over an in-memory transport on a fake clock: keepalive, the idle timeout,
 * slow consumers, the close timeout, the close handshake and flow control, each to the
 * millisecond, without sockets and without sleeping.
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { CloseCode } from "../src/protocol/close_code.ts";
import {
  ConnectionClosedError,
  KeepaliveTimeoutError,
  SlowConsumerError,
} from "../src/protocol/errors.ts";
import { type Frame, Opcode } from "../src/protocol/frame.ts";
import type { Message } from "../src/protocol/message.ts";
import type { WebSocketConnection } from "../src/websocket.ts";
import { settle } from "./helpers/fake_clock.ts";
import { closePayload, frame } from "./helpers/frames.ts";
import { open } from "./helpers/memory_connection.ts";

const decoder = new TextDecoder();

function pingNumber(ping: Frame): number {
  assertEquals([ping.opcode, ping.payload.length], [Opcode.Ping, 4], "a keepalive ping");
  return new DataView(ping.payload.buffer, ping.payload.byteOffset, 4).getUint32(0);
}

function closeOf(frame: Frame | undefined): [number, string] {
  assertEquals(frame?.opcode, Opcode.Close, `a close frame, not ${frame?.opcode}`);
  const payload = frame!.payload;
  return [(payload[0] << 8) | payload[1], decoder.decode(payload.subarray(2))];
}

const text = (frame: Frame) => decoder.decode(frame.payload);

const KEEPALIVE = { pingIntervalMs: 20_000, pingTimeoutMs: 20_000 };

Deno.test("keepalive: a quiet peer is pinged after pingIntervalMs and failed with 1011 pingTimeoutMs later, TCP closed at once", async () => {
  const { clock, connection, peer, errors, ran } = open(KEEPALIVE);
  await clock.advance(19_999);
  assertEquals(await peer.take(), []);
  await clock.advance(1);
  const [ping] = await peer.take();
  assertEquals(pingNumber(ping), 1);
  await clock.advance(19_999);
  assertEquals([await peer.take(), connection.state], [[], "open"]);
  await clock.advance(1);
  const [close] = await peer.take();
  assertEquals(closeOf(close), [1011, "keepalive ping timeout"]);
  // TCP ends at once: the peer is not there to answer.
  assert(peer.ended, "the transport was closed");
  await ran;
  const closed = await connection.closed;
  assertEquals([closed.code, closed.wasClean], [1006, false]);
  const error = assertInstanceOf(closed.error, KeepaliveTimeoutError) ?? closed.error;
  assertEquals((error as KeepaliveTimeoutError).timeoutMs, 20_000);
  // A dead peer is routine, not an error to report.
  assertEquals(errors, []);
});

Deno.test("keepalive: a peer that answers every ping stays open, pinged once per quiet interval, in order", async () => {
  const { clock, connection, peer, send } = open(KEEPALIVE);
  const pings: number[] = [];
  for (let interval = 0; interval < 6; interval++) {
    await clock.advance(20_000);
    for (const ping of await peer.take()) {
      pings.push(pingNumber(ping));
      await send(Opcode.Pong, ping.payload);
    }
  }
  assertEquals([pings, connection.state], [[1, 2, 3, 4, 5, 6], "open"]);
  await peer[Symbol.asyncDispose]();
});

Deno.test("keepalive: a pong with another payload does not answer the ping", async () => {
  const { clock, connection, peer, send } = open(KEEPALIVE);
  await clock.advance(20_000);
  await peer.take();
  await send(Opcode.Pong, [9, 9, 9, 9]);
  await clock.advance(20_000);
  assertEquals(closeOf((await peer.take())[0]), [1011, "keepalive ping timeout"]);
  assertInstanceOf((await connection.closed).error, KeepaliveTimeoutError);
});

Deno.test("keepalive: no ping while the peer keeps talking", async () => {
  const { clock, peer, send } = open(KEEPALIVE);
  const frames: Frame[] = [];
  for (let second = 0; second < 60; second += 10) {
    await send(Opcode.Text, `at ${second} s`);
    await clock.advance(10_000);
    frames.push(...await peer.take());
  }
  assertEquals(frames.map((f) => f.opcode), Array(6).fill(Opcode.Text));
  await peer[Symbol.asyncDispose]();
});

Deno.test("keepalive: a pingTimeoutMs of 0 keeps pinging without waiting for pongs", async () => {
  const { clock, connection, peer } = open({ pingIntervalMs: 1_000, pingTimeoutMs: 0 });
  await clock.advance(5_000);
  assertEquals((await peer.take()).map(pingNumber), [1, 2, 3, 4, 5]);
  assertEquals(connection.state, "open");
  await peer[Symbol.asyncDispose]();
});

Deno.test("keepalive: a client pings a quiet server the same way, masked, and fails with 1011", async () => {
  const { clock, connection, peer } = open({ ...KEEPALIVE, role: "client" });
  await clock.advance(20_000);
  const [ping] = await peer.take();
  assertEquals(pingNumber(ping), 1);
  await clock.advance(20_000);
  assertEquals(closeOf((await peer.take())[0]), [1011, "keepalive ping timeout"]);
  const closed = await connection.closed;
  assertEquals([closed.code, closed.error?.name], [1006, "KeepaliveTimeoutError"]);
});

Deno.test("keepalive: while the handler is behind and reading is held back, the peer's silence does not count", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { clock, connection, peer, send } = open({
    ...KEEPALIVE,
    maxQueuedMessages: 0,
    handler: async (message) => {
      await released;
      return message;
    },
  });
  await send(Opcode.Text, "first");
  await send(Opcode.Text, "second");
  // The handler holds "first", "second" waits: over the limit of 0, reading stops.
  await clock.advance(60_000);
  assertEquals(await peer.take(), [], "no ping, no close while reading is held back");
  release();
  await settle();
  assertEquals((await peer.take()).map(text), ["first", "second"]);
  // Reading went on: the keepalive clock starts again from there.
  await clock.advance(19_000);
  assertEquals(await peer.take(), []);
  await clock.advance(1_000);
  assertEquals((await peer.take()).map(pingNumber), [1]);
  assertEquals(connection.state, "open");
  await peer[Symbol.asyncDispose]();
});

Deno.test("idle: no message either way for idleTimeoutMs closes with 1001, pings and pongs not counting", async () => {
  const { clock, connection, peer, send } = open({
    idleTimeoutMs: 60_000,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 10_000,
  });
  for (let interval = 0; interval < 5; interval++) {
    await clock.advance(10_000);
    for (const ping of await peer.take()) await send(Opcode.Pong, ping.payload);
  }
  assertEquals(connection.state, "open");
  await clock.advance(10_000);
  const close = (await peer.take()).find((f) => f.opcode === Opcode.Close);
  assertEquals(closeOf(close), [1001, "idle timeout"]);
  // The peer answers the close: a clean end, and the idle close is no error.
  await send(Opcode.Close, closePayload(1001));
  await peer.take();
  assert(peer.ended, "the server ended TCP after the close handshake");
  await peer.transport.closeWrite();
  assertEquals(await connection.closed, { code: 1001, reason: "", wasClean: true });
});

Deno.test("idle: messages from this end alone keep the connection open", async () => {
  const { clock, connection, peer } = open({ idleTimeoutMs: 1_000, pingIntervalMs: 0 });
  for (let i = 0; i < 10; i++) {
    await connection.send(`tick ${i}`);
    await clock.advance(500);
  }
  assertEquals(connection.state, "open");
  assertEquals((await peer.take()).length, 10);
  await clock.advance(1_000);
  assertEquals(closeOf((await peer.take())[0]), [1001, "idle timeout"]);
  await peer[Symbol.asyncDispose]();
});

Deno.test("idle: time the handler spends on a message does not count", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { clock, connection, peer, send } = open({
    idleTimeoutMs: 1_000,
    pingIntervalMs: 0,
    handler: async (message) => {
      await released;
      return message;
    },
  });
  await send(Opcode.Text, "slow one");
  await clock.advance(5_000);
  assertEquals(connection.state, "open");
  release();
  await settle();
  assertEquals((await peer.take()).map(text), ["slow one"]);
  // The idle time runs from the handler's end.
  await clock.advance(999);
  assertEquals(connection.state, "open");
  await clock.advance(1);
  assertEquals(closeOf((await peer.take())[0]), [1001, "idle timeout"]);
  await peer[Symbol.asyncDispose]();
});

/** Sends messages of `size` bytes until `count` have been queued, awaiting none. */
function flood(connection: WebSocketConnection, count: number, size: number): Promise<void>[] {
  return Array.from({ length: count }, (_, i) => connection.send(new Uint8Array(size).fill(i)));
}

Deno.test("slow consumer: a peer that does not read, over maxBufferedBytes for the grace time, is failed with 1008 and onError told", async () => {
  const { clock, connection, errors } = open({
    maxBufferedBytes: 64 * 1024,
    slowConsumerGraceMs: 5_000,
    pingIntervalMs: 0,
    closeTimeoutMs: 2_000,
    capacity: 16 * 1024,
    peerReads: false,
  });
  const sent = flood(connection, 12, 8 * 1024);
  await clock.advance(4_999);
  assertEquals([connection.state, errors], ["open", []]);
  assert(connection.bufferedAmount > 64 * 1024, `${connection.bufferedAmount} queued`);
  await clock.advance(1);
  assertEquals(connection.state, "closing");
  assertEquals(errors.length, 1);
  assertInstanceOf(errors[0], SlowConsumerError);
  // The close frame cannot get through either: TCP ends at the close timeout.
  await clock.advance(2_000);
  const closed = await connection.closed;
  assertEquals([closed.code, closed.error?.name], [1006, "SlowConsumerError"]);
  // What was queued and not written is reported lost, not kept.
  const results = await Promise.allSettled(sent);
  assert(results.some((result) => result.status === "rejected"));
});

Deno.test("slow consumer: with the drop policy, a send while over the limit rejects and is dropped; the rest arrive in order", async () => {
  const { clock, connection, peer } = open({
    maxBufferedBytes: 1024,
    slowConsumer: "drop",
    slowConsumerGraceMs: 0,
    pingIntervalMs: 0,
    capacity: 512,
  });
  const first = connection.send(new Uint8Array(2000).fill(1));
  await assertRejects(() => connection.send(new Uint8Array(10).fill(2)), SlowConsumerError);
  await first;
  await connection.send(new Uint8Array(10).fill(3));
  const frames = await peer.take();
  assertEquals(frames.map((f) => f.payload[0]), [1, 3]);
  await clock.advance(60_000);
  assertEquals(connection.state, "open");
  await peer[Symbol.asyncDispose]();
});

Deno.test("slow consumer: with the close policy, a send past twice the limit fails the connection at once", async () => {
  const { connection, errors } = open({
    maxBufferedBytes: 1024,
    slowConsumerGraceMs: 0,
    pingIntervalMs: 0,
    closeTimeoutMs: 1_000,
    capacity: 256,
    peerReads: false,
  });
  const queued = [connection.send(new Uint8Array(1500)), connection.send(new Uint8Array(600))];
  await assertRejects(() => connection.send(new Uint8Array(100)), SlowConsumerError);
  assertEquals(connection.state, "closing");
  assertInstanceOf(errors[0], SlowConsumerError);
  await Promise.allSettled(queued);
});

Deno.test("slow consumer: the handler's replies wait while the queue is over the limit, and the peer is not read", async () => {
  const { clock, connection, send } = open({
    maxBufferedBytes: 1024,
    pingIntervalMs: 0,
    slowConsumerGraceMs: 0,
    capacity: 2048,
    peerReads: false,
    handler: () => new Uint8Array(1500),
  });
  // The peer writes but does not read: the replies fill its capacity and then the queue.
  for (let i = 0; i < 6; i++) await send(Opcode.Text, `request ${i}`);
  await clock.advance(1_000);
  assert(connection.bufferedAmount > 1024, "the queue is over the limit");
  assert(connection.bufferedAmount < 3 * 1500, `${connection.bufferedAmount}: replies piled up`);
  assertEquals(connection.state, "open");
});

Deno.test("close timeout: a close the peer never answers ends TCP after closeTimeoutMs", async () => {
  const { clock, connection, peer } = open({ pingIntervalMs: 0, closeTimeoutMs: 3_000 });
  const closing = connection.close(4000, "bye");
  assertEquals(closeOf((await peer.take())[0]), [4000, "bye"]);
  await clock.advance(2_999);
  assertEquals([connection.state, peer.ended], ["closing", false]);
  await clock.advance(1);
  assertEquals(await closing, { code: 1006, reason: "", wasClean: false });
  assert(peer.ended);
});

Deno.test("close handshake: after it, a server sends FIN and waits for the peer's; one that never ends is cut at closeTimeoutMs", async () => {
  const { clock, connection, peer, send, own } = open({ pingIntervalMs: 0, closeTimeoutMs: 3_000 });
  await send(Opcode.Close, closePayload(1000, "done"));
  assertEquals(closeOf((await peer.take())[0]), [1000, "done"]);
  assertEquals([own.finSent, own.closed], [true, false]);
  assertEquals(connection.state, "closing");
  await clock.advance(3_000);
  assertEquals(await connection.closed, { code: 1000, reason: "done", wasClean: true });
  assert(own.closed);
});

Deno.test("close handshake: the peer's close is answered after the replies to the messages before it", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { connection, peer, send, own } = open({
    pingIntervalMs: 0,
    handler: async (message) => {
      await released;
      return `reply to ${message}`;
    },
  });
  await send(Opcode.Text, "a");
  await send(Opcode.Text, "b");
  await send(Opcode.Close, closePayload(1000));
  assertEquals(await peer.take(), [], "the echo waits for the handler");
  release();
  const frames = await peer.take();
  assertEquals(frames.map((f) => f.opcode), [Opcode.Text, Opcode.Text, Opcode.Close]);
  assertEquals(frames.slice(0, 2).map(text), ["reply to a", "reply to b"]);
  assert(own.finSent);
  await peer.transport.closeWrite();
  assertEquals(await connection.closed, { code: 1000, reason: "", wasClean: true });
});

Deno.test("close handshake: a handler that closes while its peer's close waits for it sends its own close, once", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { peer, send } = open({
    pingIntervalMs: 0,
    handler: async (_message, connection) => {
      await released;
      await connection.close(4001, "handler says");
    },
  });
  await send(Opcode.Text, "a");
  await send(Opcode.Close, closePayload(1000));
  release();
  const frames = await peer.take();
  assertEquals(frames.map((f) => closeOf(f)), [[4001, "handler says"]]);
  await peer[Symbol.asyncDispose]();
});

Deno.test("close handshake: a violation is answered after the earlier replies, with its code, then FIN", async () => {
  const { connection, peer, send, own } = open({ pingIntervalMs: 0 });
  await send(Opcode.Text, "fine");
  await send(Opcode.Text, [0xff]);
  const frames = await peer.take();
  assertEquals(text(frames[0]), "fine");
  assertEquals(closeOf(frames[1]), [1007, "invalid UTF-8 in text"]);
  assert(own.finSent);
  await peer.transport.closeWrite();
  const closed = await connection.closed;
  assertEquals([closed.code, closed.error?.closeCode], [1006, 1007]);
});

Deno.test("close handshake: a client answers the server's close and leaves ending TCP to the server", async () => {
  const { connection, peer, send, own } = open({ role: "client", pingIntervalMs: 0 });
  await send(Opcode.Close, closePayload(1000));
  assertEquals(closeOf((await peer.take())[0]), [1000, ""]);
  assertEquals(own.finSent, false);
  await peer.transport.closeWrite();
  assertEquals(await connection.closed, { code: 1000, reason: "", wasClean: true });
});

Deno.test("flow control: over maxQueuedMessages waiting, the peer is not read; reading goes on at the low water mark", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const handled: Message[] = [];
  const { own, peer } = open({
    maxQueuedMessages: 4,
    pingIntervalMs: 0,
    capacity: 64,
    handler: async (message) => {
      handled.push(message);
      await released;
    },
  });
  // Writes of 64 bytes each: once the connection stops reading, the peer's writes wait.
  const writes: Promise<void>[] = [];
  let written = 0;
  for (let i = 0; i < 40; i++) {
    writes.push(peer.write(frame(Opcode.Text, "x".repeat(58))).then(() => void written++));
  }
  await settle();
  // One message in the handler, five waiting (over 4): reading stopped, TCP pushes back.
  assertEquals(handled.length, 1);
  assert(written < 10, `${written} writes went through while nobody read`);
  release();
  await Promise.all(writes);
  await settle();
  assertEquals([handled.length, written], [40, 40]);
  assert(!own.closed);
  await peer[Symbol.asyncDispose]();
});

Deno.test("receive(): messages wait for it, also after the close; then it rejects", async () => {
  const { connection, send, peer } = open({ handler: null, pingIntervalMs: 0 });
  await send(Opcode.Text, "one");
  await send(Opcode.Binary, [2]);
  await send(Opcode.Close, closePayload(1000));
  await peer.take();
  await peer.transport.closeWrite();
  await connection.closed;
  assertEquals(await connection.receive(), "one");
  assertEquals(await connection.receive(), new Uint8Array([2]));
  await assertRejects(() => connection.receive(), ConnectionClosedError);
});

Deno.test("receive(): a connection with a handler has none to give", async () => {
  const { connection, peer } = open({ pingIntervalMs: 0 });
  await assertRejects(() => connection.receive(), TypeError);
  await peer[Symbol.asyncDispose]();
});

Deno.test("handler: one that throws closes its connection with 1011 and is given no more messages", async () => {
  const handled: Message[] = [];
  const { errors, peer, send } = open({
    pingIntervalMs: 0,
    handler: (message) => {
      handled.push(message);
      throw new Error("boom");
    },
  });
  await send(Opcode.Text, "a");
  await send(Opcode.Text, "b");
  const frames = await peer.take();
  assertEquals(frames.map((f) => closeOf(f)), [[CloseCode.InternalError, ""]]);
  assertEquals([handled, (errors[0] as Error).message], [["a"], "boom"]);
  await peer[Symbol.asyncDispose]();
});

Deno.test("close handshake: a peer that sends its close and FIN at once still reads the replies and the close answer", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { connection, peer, send } = open({
    pingIntervalMs: 0,
    handler: async (message) => {
      await released;
      return message;
    },
  });
  await send(Opcode.Text, "before");
  await send(Opcode.Close, closePayload(4999, "bye"));
  await peer.transport.closeWrite();
  await settle();
  release();
  const frames = await peer.take();
  assertEquals(frames.map((f) => f.opcode), [Opcode.Text, Opcode.Close]);
  assertEquals(closeOf(frames[1]), [4999, "bye"]);
  assertEquals(await connection.closed, { code: 4999, reason: "bye", wasClean: true });
});
