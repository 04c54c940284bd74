import { assertEquals } from "@std/assert";
import { Outbox } from "../src/outbox.ts";
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

Deno.test("outbox: what is queued in one turn goes out in one write", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {});
  outbox.enqueue(new Uint8Array([1]));
  outbox.enqueue(new Uint8Array([2, 3]));
  assertEquals(outbox.bufferedAmount, 3);
  await outbox.flushed();
  assertEquals(writes, [[1, 2, 3]]);
  assertEquals(outbox.bufferedAmount, 0);
});

Deno.test("outbox: urgent bytes overtake queued data not yet written", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {});
  outbox.enqueue(new Uint8Array([1]));
  await new Promise((resolve) => setTimeout(resolve, 0)); // [1] is being written now
  outbox.enqueue(new Uint8Array([2]));
  outbox.enqueue(new Uint8Array([9]), true);
  await outbox.flushed();
  assertEquals(writes, [[1], [9, 2]]);
});

Deno.test("outbox: partial writes are continued until every byte is out, in order", async () => {
  const { transport, writes } = memoryTransport(2);
  const outbox = new Outbox(transport, () => {});
  outbox.enqueue(new Uint8Array([1, 2, 3, 4, 5]));
  await outbox.flushed();
  assertEquals(writes.flat(), [1, 2, 3, 4, 5]);
});

Deno.test("outbox: a failed write is reported once and everything after it is dropped", async () => {
  const { transport, writes, breakIt } = memoryTransport();
  const errors: unknown[] = [];
  const outbox = new Outbox(transport, (error) => errors.push(error));
  breakIt();
  outbox.enqueue(new Uint8Array([1]));
  await outbox.flushed();
  outbox.enqueue(new Uint8Array([2]));
  await outbox.flushed();
  assertEquals([errors.length, outbox.broken, outbox.bufferedAmount, writes], [1, true, 0, []]);
});

Deno.test("outbox: large parts are written as they are, small runs around them joined", async () => {
  const { transport, writes } = memoryTransport();
  const outbox = new Outbox(transport, () => {});
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
