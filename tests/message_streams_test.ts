/**
 * A connection's `readable` and `writable` over an in-memory transport: one chunk per message
 * both ways, the readable's backpressure being the inbox's (`maxQueuedMessages`, no buffer of its
 * own in front of it), the writable's `ready` following `maxBufferedBytes`, and closing through
 * either stream.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ConnectionClosedError, WebSocketError } from "../src/protocol/errors.ts";
import { type Frame, Opcode } from "../src/protocol/frame.ts";
import { settle } from "./helpers/fake_clock.ts";
import { closePayload } from "./helpers/frames.ts";
import { open } from "./helpers/memory_connection.ts";

const decoder = new TextDecoder();

function closeOf(frame: Frame | undefined): [number, string] {
  assertEquals(frame?.opcode, Opcode.Close, `a close frame, not ${frame?.opcode}`);
  const payload = frame!.payload;
  return [(payload[0] << 8) | payload[1], decoder.decode(payload.subarray(2))];
}

Deno.test("readable: one chunk per message, in order, text and binary, ending with the connection", async () => {
  const { connection, send, peer } = open({ handler: null });
  await send(Opcode.Text, "one");
  await send(Opcode.Binary, [1, 2, 3]);
  await send(Opcode.Text, "three");
  await send(Opcode.Close, closePayload(1000, "bye"));
  await peer.take();
  await peer[Symbol.asyncDispose]();
  assertEquals(await Array.fromAsync(connection.readable), [
    "one",
    new Uint8Array([1, 2, 3]),
    "three",
  ]);
});

Deno.test("readable: it holds no message of its own: what it has not read, receive() still gets", async () => {
  const { connection, send, peer } = open({ handler: null });
  for (const text of ["a", "b", "c"]) await send(Opcode.Text, text);
  await settle();
  const reader = connection.readable.getReader();
  assertEquals((await reader.read()).value, "a");
  await settle();
  // Had the stream read ahead, "b" would be in it and receive() would get "c".
  assertEquals(await connection.receive(), "b");
  assertEquals((await reader.read()).value, "c");
  await peer[Symbol.asyncDispose]();
});

Deno.test("readable: not reading it stops reading the peer past maxQueuedMessages", async () => {
  const { connection, send, peer } = open({ handler: null, maxQueuedMessages: 2, capacity: 64 });
  const messages = Array.from({ length: 40 }, (_, i) => `message ${String(i).padStart(2, "0")}`);
  // Written without waiting: the peer's writes wait while the connection does not read.
  const writing = (async () => {
    for (const text of messages) await send(Opcode.Text, text);
  })();
  await settle();
  // Each message is 16 bytes: what the inbox holds (3), one read's worth, and the 64 bytes the
  // transport lets wait unread, no more.
  const writtenUnread = peer.transport.bytesWritten;
  assert(writtenUnread <= 12 * 16, `${writtenUnread} bytes of 40 messages written unread`);
  const reader = connection.readable.getReader();
  const received = [];
  for (let i = 0; i < messages.length; i++) received.push((await reader.read()).value);
  await writing;
  assertEquals(received, messages);
  await peer[Symbol.asyncDispose]();
});

Deno.test("readable: on a connection with a handler it throws, as receive() rejects", () => {
  const { connection } = open();
  assertThrows(() => connection.readable, TypeError);
});

Deno.test("readable: cancelling closes the connection with a WebSocketError's code and reason, else 1000", async () => {
  {
    const { connection, peer } = open({ handler: null });
    await connection.readable.cancel(new WebSocketError("", { closeCode: 4001, reason: "enough" }));
    assertEquals(closeOf((await peer.take())[0]), [4001, "enough"]);
  }
  const { connection, peer } = open({ handler: null });
  await connection.readable.cancel(new Error("no code"));
  assertEquals(closeOf((await peer.take())[0]), [1000, ""]);
});

Deno.test("writable: each chunk is one message, strings as text, bytes of any view as binary", async () => {
  const { connection, peer } = open({ handler: null });
  const writer = connection.writable.getWriter();
  await writer.write("text");
  await writer.write(new Uint8Array([1, 2]));
  await writer.write(new Uint16Array([0x0403]).buffer as unknown as Uint8Array);
  await writer.write(new DataView(new Uint8Array([5, 6, 7]).buffer, 1) as unknown as Uint8Array);
  const frames = await peer.take();
  assertEquals(frames.map((frame) => [frame.opcode, [...frame.payload]]), [
    [Opcode.Text, [...new TextEncoder().encode("text")]],
    [Opcode.Binary, [1, 2]],
    [Opcode.Binary, [3, 4]],
    [Opcode.Binary, [6, 7]],
  ]);
});

Deno.test("writable: ready waits while more than maxBufferedBytes wait for the peer, and desiredSize is 0", async () => {
  const { connection, peer } = open({
    handler: null,
    maxBufferedBytes: 4096,
    capacity: 1024,
    peerReads: false,
    slowConsumerGraceMs: 0,
  });
  const writer = connection.writable.getWriter();
  assertEquals(writer.desiredSize, 1);
  let written = 0;
  const writes = [];
  while (writer.desiredSize! > 0 && written < 100) {
    writes.push(writer.write(new Uint8Array(1000).fill(written++)));
    await settle();
  }
  // Over the limit: the last write waits, and so does ready.
  let ready = false;
  writer.ready.then(() => ready = true);
  await settle();
  assert(connection.bufferedAmount > 4096, `${connection.bufferedAmount} bytes queued`);
  assertEquals([writer.desiredSize, ready], [0, false]);
  assert(written <= 7, `${written} messages written before ready waited`);
  peer.resume();
  await writer.ready;
  await Promise.all(writes);
  assertEquals(writer.desiredSize, 1);
  await settle();
  assertEquals((await peer.take()).map((frame) => frame.payload[0]), [...Array(written).keys()]);
});

Deno.test("writable: close() closes the connection with 1000, abort() as cancelling the readable does", async () => {
  {
    const { connection, peer } = open({ handler: null });
    const writer = connection.writable.getWriter();
    await writer.write("last");
    await writer.close();
    const frames = await peer.take();
    assertEquals(decoder.decode(frames[0].payload), "last");
    assertEquals(closeOf(frames[1]), [1000, ""]);
  }
  const { connection, peer } = open({ handler: null });
  await connection.writable.abort(new WebSocketError("", { closeCode: 3000, reason: "aborted" }));
  assertEquals(closeOf((await peer.take())[0]), [3000, "aborted"]);
});

Deno.test("writable: a write once this end's close frame is out fails with ConnectionClosedError", async () => {
  const { connection } = open({ handler: null });
  connection.close(1000);
  const writer = connection.writable.getWriter();
  await assertRejects(() => writer.write("too late"), ConnectionClosedError);
});
