import { assertEquals } from "@std/assert";
import { MAX_READ_BYTES, MIN_READ_BYTES, ReadBuffer, readUntilEnd } from "../src/read_loop.ts";
import { settle } from "./helpers/fake_clock.ts";
import { MemoryTransport } from "./helpers/memory_transport.ts";
import type { ReadTarget } from "../src/transport.ts";

Deno.test("read buffer: grows fourfold on each full read up to 256 KiB", () => {
  const buffer = new ReadBuffer();
  const sizes = [buffer.bytes.length];
  for (let i = 0; i < 6; i++) {
    buffer.used(buffer.bytes.length);
    sizes.push(buffer.bytes.length);
  }
  assertEquals(sizes, [
    MIN_READ_BYTES,
    4096,
    16384,
    65536,
    MAX_READ_BYTES,
    MAX_READ_BYTES,
    MAX_READ_BYTES,
  ]);
});

Deno.test("read buffer: shrinks to 4 KiB after 16 small reads in a row, not after fewer", () => {
  const buffer = new ReadBuffer(new Uint8Array(MAX_READ_BYTES));
  for (let i = 0; i < 15; i++) buffer.used(100);
  buffer.used(MAX_READ_BYTES / 2); // A mid-sized read breaks the run.
  for (let i = 0; i < 15; i++) buffer.used(100);
  assertEquals(buffer.bytes.length, MAX_READ_BYTES);
  buffer.used(100);
  assertEquals(buffer.bytes.length, 4096);
  // At 4 KiB it shrinks no further.
  for (let i = 0; i < 40; i++) buffer.used(1);
  assertEquals(buffer.bytes.length, 4096);
});

Deno.test("read loop: hands every read to the target in order, until the stream ends", async () => {
  const [own, other] = MemoryTransport.pair();
  const received: number[] = [];
  const reading = readUntilEnd(own, new ReadBuffer(new Uint8Array(4)), {
    holdReading: () => null,
    resumed() {},
    received: (bytes) => received.push(...bytes),
  });
  await other.write(new Uint8Array([1, 2, 3, 4, 5, 6]));
  await other.write(new Uint8Array([7]));
  await other.closeWrite();
  await reading;
  assertEquals(received, [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("read loop: reads nothing while held, then resumes; a closed transport ends it", async () => {
  const [own, other] = MemoryTransport.pair();
  const events: string[] = [];
  let hold: PromiseWithResolvers<void> | null = Promise.withResolvers<void>();
  const reading = readUntilEnd(own, new ReadBuffer(), {
    holdReading: () => hold?.promise ?? null,
    resumed: () => events.push("resumed"),
    received: (bytes) => events.push(`read ${bytes.length}`),
  });
  await other.write(new Uint8Array(10));
  await settle();
  assertEquals(events, []);
  const release = hold;
  hold = null;
  release.resolve();
  await settle();
  assertEquals(events, ["resumed", "read 10"]);
  own.close();
  await reading;
});

Deno.test("read loop: a transport that delivers its chunks hands them over itself, and is never read", async () => {
  const chunks = [new Uint8Array([1]), new Uint8Array([2, 3])];
  const transport = {
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
    read: () => Promise.reject(new Error("read() is not to be used")),
    deliver: (target: ReadTarget) => {
      for (const chunk of chunks) target.received(chunk, true);
      return Promise.resolve();
    },
    write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
  const received: [Uint8Array, boolean][] = [];
  await readUntilEnd(transport, new ReadBuffer(), {
    holdReading: () => null,
    resumed() {},
    received: (bytes, owned) => received.push([bytes, owned]),
  });
  assertEquals(received[0][0] === chunks[0] && received[1][0] === chunks[1], true);
  assertEquals(received.map(([, owned]) => owned), [true, true]);
});
