import { assert, assertEquals } from "@std/assert";
import { Outbox, type OutboxOptions, type OutboxOwner } from "../src/outbox.ts";
import { Opcode } from "../src/protocol/frame.ts";
import { FrameArena } from "../src/protocol/frame_arena.ts";
import type { Transport } from "../src/transport.ts";
import { concat } from "./helpers/frames.ts";

/**
 * A transport in memory: records each write (taking at most `maxWrite` bytes per call), and
 * the end of the stream among them, as "FIN" or "close".
 */
function memoryTransport(maxWrite = Infinity) {
  const writes: number[][] = [];
  const ends: string[] = [];
  let fail = false;
  const transport: Transport = {
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
    read: () => Promise.resolve(null),
    async write(bytes) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (fail) throw new Error("reset");
      const count = Math.min(bytes.length, maxWrite);
      writes.push([...bytes.subarray(0, count)]);
      return count;
    },
    closeWrite() {
      ends.push(`FIN after ${writes.length}`);
      return Promise.resolve();
    },
    close() {
      ends.push(`close after ${writes.length}`);
    },
  };
  return { transport, writes, ends, breakIt: () => fail = true };
}

/** Reserves room for `bytes` in `outbox` and writes them there, as a frame encoder does. */
function reserve(outbox: Outbox, bytes: number[]): void {
  const at = outbox.reserve(bytes.length);
  outbox.bytes.set(bytes, at);
}

const OWNER: OutboxOwner = { now: () => 0, outboxClosed() {} };
const NO_LIMIT: OutboxOptions = { maxBufferedBytes: Infinity };

Deno.test("outbox: what is queued in one turn goes out in one write", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.write(new Uint8Array([1]), false);
  outbox.write(new Uint8Array([2, 3]), false);
  assertEquals(outbox.bufferedAmount, 3);
  await outbox.flushed();
  assertEquals(writes, [[1, 2, 3]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: control bytes overtake queued data not yet written", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.write(new Uint8Array([1]), false);
  await new Promise((resolve) => setTimeout(resolve, 0)); // [1] is being written now
  outbox.write(new Uint8Array([2]), false);
  outbox.write(new Uint8Array([9]), true);
  await outbox.flushed();
  assertEquals(writes, [[1], [9, 2]]);
});

Deno.test("outbox: partial writes are continued until every byte is out, in order", async () => {
  const { transport, writes } = memoryTransport(2);
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.write(new Uint8Array([1, 2, 3, 4, 5]), false);
  await outbox.flushed();
  assertEquals(writes.flat(), [1, 2, 3, 4, 5]);
});

Deno.test("outbox: a failed write closes the transport, is reported once, and everything after it is dropped", async () => {
  const { transport, writes, ends, breakIt } = memoryTransport();
  const errors: string[] = [];
  const outbox = new Outbox(
    transport,
    { ...OWNER, outboxClosed: () => errors.push("closed") },
    NO_LIMIT,
  );
  breakIt();
  outbox.write(new Uint8Array([1]), false);
  await outbox.flushed();
  outbox.write(new Uint8Array([2]), false);
  await outbox.flushed();
  assertEquals([errors.length, outbox.closed, outbox.bufferedAmount, writes], [1, true, 0, []]);
  assertEquals(ends, ["close after 0"]);
});

Deno.test("outbox: large parts are written as they are, small runs around them joined", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  const large = new Uint8Array(20_000).fill(7);
  outbox.write(new Uint8Array([1]), false);
  outbox.write(new Uint8Array([2]), false);
  outbox.write(large, false);
  outbox.write(new Uint8Array([3]), false);
  await outbox.flushed();
  assertEquals(writes.map((write) => write.length), [2, 20_000, 1]);
  assertEquals([writes[0], writes[2]], [[1, 2], [3]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: knows since when it has been over its limit, until it is back under", async () => {
  const { transport } = memoryTransport();
  const clock = { now: 100 };
  const outbox = new Outbox(transport, { ...OWNER, now: () => clock.now }, { maxBufferedBytes: 3 });
  outbox.write(new Uint8Array(3), false);
  assertEquals([outbox.overLimit, outbox.overLimitSince], [false, null]);
  outbox.write(new Uint8Array(1), false);
  clock.now = 200;
  outbox.write(new Uint8Array(1), false);
  // Since it first went over, not since the last bytes.
  assertEquals([outbox.overLimit, outbox.overLimitSince], [true, 100]);
  let below = false;
  const waiting = outbox.belowLimit().then(() => below = true);
  assertEquals(below, false);
  await waiting;
  assertEquals([outbox.bufferedAmount, outbox.overLimitSince], [0, null]);
});

Deno.test("outbox: belowLimit() resolves once a write takes it back to the limit, not before", async () => {
  // Two bytes a write, one write at a time: 6 bytes take three writes.
  const { transport, writes } = memoryTransport(2);
  const outbox = new Outbox(transport, OWNER, { maxBufferedBytes: 2 });
  outbox.write(new Uint8Array(6), false);
  await outbox.belowLimit();
  // One buffer of 6 is counted as written only when all of it is.
  assertEquals([writes.length, outbox.bufferedAmount], [3, 0]);
});

Deno.test("outbox: dropQueued() keeps the write under way and drops the rest; what follows goes next", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  const large = new Uint8Array(20_000).fill(1);
  outbox.write(large, false);
  outbox.write(new Uint8Array(20_000).fill(2), false);
  outbox.write(new Uint8Array([3]), false);
  await new Promise((resolve) => setTimeout(resolve, 0)); // the first large part is being written
  outbox.write(new Uint8Array([4]), true);
  outbox.dropQueued();
  assertEquals(outbox.bufferedAmount, 20_000);
  outbox.write(new Uint8Array([9]), true);
  await outbox.flushed();
  assertEquals(writes.map((write) => [write.length, write[0]]), [[20_000, 1], [1, 9]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: belowLimit() resolves when a failed write drops everything", async () => {
  const { transport, breakIt } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, { maxBufferedBytes: 1 });
  breakIt();
  outbox.write(new Uint8Array(10), false);
  await outbox.belowLimit();
  assertEquals([outbox.closed, outbox.overLimit], [true, false]);
});

Deno.test("outbox: written() resolves once what was queued is out, however much is queued after", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.write(new Uint8Array([1]), false);
  const first = outbox.written();
  // A steady stream queued behind it, for longer than the first write takes.
  let more = 0;
  const stream = setInterval(() => outbox.write(new Uint8Array([2 + more++ % 200]), false), 0);
  try {
    assertEquals(await first, true);
    assertEquals(writes[0], [1]);
    assertEquals(outbox.bufferedAmount > 0 || more > 0, true);
  } finally {
    clearInterval(stream);
  }
  await outbox.flushed();
});

Deno.test("outbox: written() resolves false for what was dropped or lost to a failed write", async () => {
  const { transport, breakIt } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.write(new Uint8Array([1]), false);
  await new Promise((resolve) => setTimeout(resolve, 0)); // [1] is being written now
  outbox.write(new Uint8Array([2]), false);
  const dropped = outbox.written();
  outbox.dropQueued();
  assertEquals(await dropped, false);
  await outbox.flushed();
  assertEquals(await outbox.written(), true);

  outbox.write(new Uint8Array([3]), false);
  const lost = outbox.written();
  breakIt();
  assertEquals(await lost, false);
  assertEquals(await outbox.written(), false);
});

Deno.test("outbox: end('fin') sends FIN once everything queued is written, and nothing is queued after it", async () => {
  const { transport, writes, ends } = memoryTransport(2);
  const closes: string[] = [];
  const outbox = new Outbox(
    transport,
    { ...OWNER, outboxClosed: () => closes.push("closed") },
    NO_LIMIT,
  );
  outbox.write(new Uint8Array([1, 2, 3]), false);
  outbox.end("fin");
  outbox.write(new Uint8Array([4]), false);
  await outbox.flushed();
  assertEquals([writes, ends, closes], [[[1, 2], [3]], ["FIN after 2"], []]);
  assertEquals([outbox.bufferedAmount, outbox.closed], [0, false]);
});

Deno.test("outbox: end('close') closes the transport once everything queued is written", async () => {
  const { transport, writes, ends } = memoryTransport();
  const closes: string[] = [];
  const outbox = new Outbox(
    transport,
    { ...OWNER, outboxClosed: () => closes.push("closed") },
    NO_LIMIT,
  );
  outbox.write(new Uint8Array([1]), false);
  outbox.end("close");
  outbox.end("fin");
  await outbox.flushed();
  assertEquals([writes, ends, closes, outbox.closed], [[[1]], ["close after 1"], ["closed"], true]);
  assertEquals(await outbox.written(), false);
});

Deno.test("outbox: end() with nothing queued ends the stream at once", async () => {
  const { transport, ends } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  outbox.end("fin");
  await outbox.flushed();
  assertEquals(ends, ["FIN after 0"]);
});

Deno.test("outbox: reserved frames are laid in one buffer and go out in one write, in order with written ones, a control frame first", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  reserve(outbox, [1, 2]);
  reserve(outbox, [3]);
  outbox.write(new Uint8Array(20_000).fill(4), false);
  reserve(outbox, [5, 6, 7]);
  outbox.write(new Uint8Array([9]), true);
  assertEquals(outbox.bufferedAmount, 20_007);
  await outbox.flushed();
  assertEquals(writes.map((write) => [write.length, write[0]]), [[4, 9], [20_000, 4], [3, 5]]);
  assertEquals([writes[0], writes[2]], [[9, 1, 2, 3], [5, 6, 7]]);
});

Deno.test("outbox: parts side by side in memory go out as one view of them, uncopied, between others", async () => {
  const written: Uint8Array[] = [];
  const transport: Transport = {
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
    read: () => Promise.resolve(null),
    write: (bytes) => (written.push(bytes), Promise.resolve(bytes.length)),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  const arena = new FrameArena();
  const frames = Array.from(
    { length: 100 },
    (_, i) => arena.encode(Opcode.Binary, new Uint8Array(200).fill(i)),
  );
  for (const frame of frames) outbox.write(frame, false);
  outbox.write(new Uint8Array(20_000).fill(7), false);
  outbox.write(frames[0], false);
  outbox.write(frames[1], false);
  await outbox.flushed();
  assertEquals(written.map((bytes) => bytes.length), [20_400, 20_000, 408]);
  assertEquals(written[0].buffer, frames[0].buffer, "the frames were not copied");
  assertEquals(written[0], concat(...frames));
  assertEquals(written[2], concat(frames[0], frames[1]));
});

Deno.test("outbox: many reserved frames in one turn fill growing buffers and all arrive, once each", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  for (let i = 0; i < 3000; i++) reserve(outbox, new Array(10).fill(i % 251));
  await outbox.flushed();
  const bytes = writes.flat();
  assertEquals(bytes.length, 30_000);
  for (let i = 0; i < 3000; i++) assertEquals(bytes[i * 10 + 9], i % 251, `frame ${i}`);
  assert(writes.length < 10, `${writes.length} writes`);
});

Deno.test("outbox: dropQueued() drops reserved frames too, and what is reserved once closed goes nowhere", async () => {
  const { transport, writes, breakIt } = memoryTransport();
  const outbox = new Outbox(transport, OWNER, NO_LIMIT);
  reserve(outbox, [1, 1, 1, 1]);
  outbox.dropQueued();
  assertEquals(outbox.bufferedAmount, 0);
  await outbox.flushed();
  assertEquals(writes, []);
  breakIt();
  outbox.write(new Uint8Array([2]), false);
  await outbox.flushed();
  reserve(outbox, [3, 3, 3, 3, 3]);
  assertEquals([outbox.closed, outbox.bufferedAmount], [true, 0]);
});
