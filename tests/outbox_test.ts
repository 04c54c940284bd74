import { assertEquals } from "@std/assert";
import { Outbox, type OutboxOptions } from "../src/outbox.ts";
import type { Transport } from "../src/transport.ts";

/** A transport in memory: records each write, takes at most `maxWrite` bytes per call. */
function memoryTransport(maxWrite = Infinity) {
  const writes: number[][] = [];
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
    closeWrite: () => Promise.resolve(),
    close() {},
  };
  return { transport, writes, breakIt: () => fail = true };
}

const NO_LIMIT: OutboxOptions = { maxBufferedBytes: Infinity, clock: { now: 0 } };

Deno.test("outbox: what is queued in one turn goes out in one write", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  outbox.enqueue(new Uint8Array([1]));
  outbox.enqueue(new Uint8Array([2, 3]));
  assertEquals(outbox.bufferedAmount, 3);
  await outbox.flushed();
  assertEquals(writes, [[1, 2, 3]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: urgent bytes overtake queued data not yet written", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  outbox.enqueue(new Uint8Array([1]));
  await new Promise((resolve) => setTimeout(resolve, 0)); // [1] is being written now
  outbox.enqueue(new Uint8Array([2]));
  outbox.enqueue(new Uint8Array([9]), true);
  await outbox.flushed();
  assertEquals(writes, [[1], [9, 2]]);
});

Deno.test("outbox: partial writes are continued until every byte is out, in order", async () => {
  const { transport, writes } = memoryTransport(2);
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  outbox.enqueue(new Uint8Array([1, 2, 3, 4, 5]));
  await outbox.flushed();
  assertEquals(writes.flat(), [1, 2, 3, 4, 5]);
});

Deno.test("outbox: a failed write is reported once and everything after it is dropped", async () => {
  const { transport, writes, breakIt } = memoryTransport();
  const errors: unknown[] = [];
  const outbox = new Outbox(transport, (error) => errors.push(error), NO_LIMIT);
  breakIt();
  outbox.enqueue(new Uint8Array([1]));
  await outbox.flushed();
  outbox.enqueue(new Uint8Array([2]));
  await outbox.flushed();
  assertEquals([errors.length, outbox.broken, outbox.bufferedAmount, writes], [1, true, 0, []]);
});

Deno.test("outbox: large parts are written as they are, small runs around them joined", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  const large = new Uint8Array(20_000).fill(7);
  outbox.enqueue(new Uint8Array([1]));
  outbox.enqueue(new Uint8Array([2]));
  outbox.enqueue(large);
  outbox.enqueue(new Uint8Array([3]));
  await outbox.flushed();
  assertEquals(writes.map((write) => write.length), [2, 20_000, 1]);
  assertEquals([writes[0], writes[2]], [[1, 2], [3]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: knows since when it has been over its limit, until it is back under", async () => {
  const { transport } = memoryTransport();
  const clock = { now: 100 };
  const outbox = new Outbox(transport, () => {}, { maxBufferedBytes: 3, clock });
  outbox.enqueue(new Uint8Array(3));
  assertEquals([outbox.overLimit, outbox.overLimitSince], [false, null]);
  outbox.enqueue(new Uint8Array(1));
  clock.now = 200;
  outbox.enqueue(new Uint8Array(1));
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
  const outbox = new Outbox(transport, () => {}, { maxBufferedBytes: 2, clock: { now: 0 } });
  outbox.enqueue(new Uint8Array(6));
  await outbox.belowLimit();
  // One buffer of 6 is counted as written only when all of it is.
  assertEquals([writes.length, outbox.bufferedAmount], [3, 0]);
});

Deno.test("outbox: dropQueued() keeps the write under way and drops the rest; what follows goes next", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  const large = new Uint8Array(20_000).fill(1);
  outbox.enqueue(large);
  outbox.enqueue(new Uint8Array(20_000).fill(2));
  outbox.enqueue(new Uint8Array([3]));
  await new Promise((resolve) => setTimeout(resolve, 0)); // the first large part is being written
  outbox.enqueue(new Uint8Array([4]), true);
  outbox.dropQueued();
  assertEquals(outbox.bufferedAmount, 20_000);
  outbox.enqueue(new Uint8Array([9]), true);
  await outbox.flushed();
  assertEquals(writes.map((write) => [write.length, write[0]]), [[20_000, 1], [1, 9]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: belowLimit() resolves when a failed write drops everything", async () => {
  const { transport, breakIt } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, { maxBufferedBytes: 1, clock: { now: 0 } });
  breakIt();
  outbox.enqueue(new Uint8Array(10));
  await outbox.belowLimit();
  assertEquals([outbox.broken, outbox.overLimit], [true, false]);
});

Deno.test("outbox: written() resolves once what was queued is out, however much is queued after", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  outbox.enqueue(new Uint8Array([1]));
  const first = outbox.written();
  // A steady stream queued behind it, for longer than the first write takes.
  let more = 0;
  const stream = setInterval(() => outbox.enqueue(new Uint8Array([2 + more++ % 200])), 0);
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
  const outbox = new Outbox(transport, () => {}, NO_LIMIT);
  outbox.enqueue(new Uint8Array([1]));
  await new Promise((resolve) => setTimeout(resolve, 0)); // [1] is being written now
  outbox.enqueue(new Uint8Array([2]));
  const dropped = outbox.written();
  outbox.dropQueued();
  assertEquals(await dropped, false);
  await outbox.flushed();
  assertEquals(await outbox.written(), true);

  outbox.enqueue(new Uint8Array([3]));
  const lost = outbox.written();
  breakIt();
  assertEquals(await lost, false);
  assertEquals(await outbox.written(), false);
});
