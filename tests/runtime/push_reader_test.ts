import { assertEquals, assertRejects } from "@std/assert";
import { PushReader } from "../../src/runtime/push_reader.ts";
import type { ReadTarget } from "../../src/transport.ts";

/** A source that records when it is paused and resumed. */
function recordingSource() {
  const events: string[] = [];
  return {
    events,
    source: {
      pause: () => events.push("pause"),
      resume: () => events.push("resume"),
    },
  };
}

Deno.test("push reader: a chunk pushed while a read waits goes straight into its buffer", async () => {
  const reader = new PushReader(recordingSource().source);
  const buffer = new Uint8Array(8);
  const reading = reader.read(buffer);
  reader.push(new Uint8Array([1, 2, 3]));
  assertEquals(await reading, 3);
  assertEquals([...buffer.subarray(0, 3)], [1, 2, 3]);
});

Deno.test("push reader: every split of pushed bytes reads back whole and in order, for any read size", async () => {
  const bytes = Uint8Array.from({ length: 23 }, (_, i) => i);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const readSize of [1, 5, 64]) {
      const reader = new PushReader(recordingSource().source);
      reader.push(bytes.subarray(0, cut));
      reader.push(bytes.subarray(cut));
      reader.end();
      const read: number[] = [];
      const buffer = new Uint8Array(readSize);
      for (
        let count = await reader.read(buffer);
        count !== null;
        count = await reader.read(buffer)
      ) {
        read.push(...buffer.subarray(0, count));
      }
      assertEquals(read, [...bytes], `cut ${cut}, reads of ${readSize}`);
    }
  }
});

Deno.test("push reader: a chunk larger than the waiting read's buffer leaves the rest for the next read", async () => {
  const reader = new PushReader(recordingSource().source);
  const buffer = new Uint8Array(2);
  const reading = reader.read(buffer);
  reader.push(new Uint8Array([1, 2, 3, 4, 5]));
  assertEquals(await reading, 2);
  assertEquals(await reader.read(buffer), 2);
  assertEquals([...buffer], [3, 4]);
  assertEquals(await reader.read(buffer), 1);
  assertEquals(buffer[0], 5);
});

Deno.test("push reader: the source is paused once the unread bytes reach the limit, and resumed once all are read", async () => {
  const { events, source } = recordingSource();
  const reader = new PushReader(source, 10);
  reader.push(new Uint8Array(6));
  assertEquals(events, []);
  reader.push(new Uint8Array(4));
  assertEquals(events, ["pause"]);
  reader.push(new Uint8Array(4)); // Pushed while paused (already in flight): kept, no second pause.
  assertEquals(events, ["pause"]);
  const buffer = new Uint8Array(8);
  assertEquals(await reader.read(buffer), 8);
  assertEquals(events, ["pause"], "still 6 bytes unread: not resumed yet");
  assertEquals(await reader.read(buffer), 6);
  assertEquals(events, ["pause", "resume"]);
});

Deno.test("push reader: the end comes after every byte pushed before it", async () => {
  const reader = new PushReader(recordingSource().source);
  reader.push(new Uint8Array([7]));
  reader.end();
  reader.push(new Uint8Array([8])); // After the end: dropped.
  const buffer = new Uint8Array(4);
  assertEquals(await reader.read(buffer), 1);
  assertEquals(await reader.read(buffer), null);
  assertEquals(await reader.read(buffer), null);
});

Deno.test("push reader: a waiting read gets the end; an error ends reads with that error after the unread bytes", async () => {
  const waiting = new PushReader(recordingSource().source);
  const pending = waiting.read(new Uint8Array(4));
  waiting.end();
  assertEquals(await pending, null);

  const failed = new PushReader(recordingSource().source);
  failed.push(new Uint8Array([1]));
  failed.end(new Error("reset"));
  failed.end(); // Only the first end counts.
  assertEquals(await failed.read(new Uint8Array(4)), 1);
  await assertRejects(() => failed.read(new Uint8Array(4)), Error, "reset");
  assertEquals(failed.ended instanceof Error, true);
});

Deno.test("push reader: discard drops what is unread and ends the stream", async () => {
  const reader = new PushReader(recordingSource().source);
  reader.push(new Uint8Array([1, 2]));
  reader.discard();
  assertEquals(await reader.read(new Uint8Array(4)), null);
});

Deno.test("push reader: a second read while one waits is refused", async () => {
  const reader = new PushReader(recordingSource().source);
  const first = reader.read(new Uint8Array(4));
  await assertRejects(
    () => reader.read(new Uint8Array(4)),
    Error,
    "a read is already waiting",
  );
  reader.end();
  assertEquals(await first, null);
});

Deno.test("push reader: readChunk() hands over a chunk as it was pushed, joins small ones that wait, then the end", async () => {
  const { events, source } = recordingSource();
  const reader = new PushReader(source, 4);
  const first = new Uint8Array([1, 2]);
  const waiting = reader.readChunk();
  reader.push(first);
  assertEquals((await waiting) === first, true);
  reader.push(new Uint8Array([3, 4, 5]));
  reader.push(new Uint8Array([6, 7]));
  assertEquals(events, ["pause"]);
  assertEquals(await reader.readChunk(), new Uint8Array([3, 4, 5, 6, 7]));
  assertEquals(events, ["pause", "resume"]);
  const large = new Uint8Array(20_000);
  reader.push(large);
  reader.push(new Uint8Array([8]));
  assertEquals((await reader.readChunk()) === large, true);
  assertEquals(await reader.readChunk(), new Uint8Array([8]));
  reader.end();
  assertEquals(await reader.readChunk(), null);
});

/** A target that records what it is handed, and holds reading back while `hold` is set. */
function recordingTarget(events: string[]) {
  const target: ReadTarget & { hold: PromiseWithResolvers<void> | null; chunks: Uint8Array[] } = {
    hold: null,
    chunks: [],
    holdReading: () => target.hold?.promise ?? null,
    resumed: () => events.push("resumed"),
    received(bytes, owned) {
      events.push(`received ${bytes.length}${owned ? "" : " (not owned)"}`);
      target.chunks.push(bytes);
    },
  };
  return target;
}

Deno.test("push reader: deliver() hands over the unread chunks, then each as it is pushed, uncopied, until the end", async () => {
  const { events, source } = recordingSource();
  const reader = new PushReader(source);
  const early = new Uint8Array(3);
  const late = new Uint8Array(5);
  reader.push(early);
  const target = recordingTarget(events);
  const delivered = reader.deliver(target);
  assertEquals(events, ["received 3"], "the unread chunk, at once");
  reader.push(late);
  assertEquals(events, ["received 3", "received 5"], "a pushed chunk, as it is pushed");
  reader.end();
  await delivered;
  assertEquals(target.chunks[0] === early && target.chunks[1] === late, true);
});

Deno.test("push reader: while the target holds reading back, chunks wait and the source is paused; the end waits for them", async () => {
  const { events, source } = recordingSource();
  const reader = new PushReader(source);
  const target = recordingTarget(events);
  const delivered = reader.deliver(target);
  reader.push(new Uint8Array(1));
  target.hold = Promise.withResolvers();
  reader.push(new Uint8Array(2));
  assertEquals(events, ["received 1", "received 2", "pause"], "held after the second chunk");
  reader.push(new Uint8Array(3));
  reader.end();
  let ended = false;
  delivered.then(() => ended = true);
  await Promise.resolve();
  assertEquals(ended, false, "the chunk that waits is not handed on yet");
  const release = target.hold;
  target.hold = null;
  release.resolve();
  await delivered;
  assertEquals(events, ["received 1", "received 2", "pause", "resumed", "received 3"]);
});

Deno.test("push reader: a delivery resumes the source once the target takes chunks again", async () => {
  const { events, source } = recordingSource();
  const reader = new PushReader(source);
  const target = recordingTarget(events);
  target.hold = Promise.withResolvers();
  void reader.deliver(target);
  reader.push(new Uint8Array(4));
  const release = target.hold;
  target.hold = null;
  release.resolve();
  await release.promise;
  await Promise.resolve();
  assertEquals(events, ["pause", "resumed", "received 4", "resume"]);
});

Deno.test("push reader: a delivery rejects with what the target threw, and hands on nothing more", async () => {
  const reader = new PushReader(recordingSource().source);
  let calls = 0;
  const delivered = reader.deliver({
    holdReading: () => null,
    resumed() {},
    received() {
      calls++;
      throw new Error("broken target");
    },
  });
  reader.push(new Uint8Array(1));
  reader.push(new Uint8Array(1));
  await assertRejects(() => delivered, Error, "broken target");
  assertEquals(calls, 1);
});

Deno.test("push reader: discard ends a delivery at once, even one held back", async () => {
  const reader = new PushReader(recordingSource().source);
  const target = recordingTarget([]);
  target.hold = Promise.withResolvers();
  const delivered = reader.deliver(target);
  reader.push(new Uint8Array(1));
  reader.discard();
  await delivered;
  target.hold.resolve();
  await target.hold.promise;
  assertEquals(target.chunks, []);
});

Deno.test("push reader: a read while a delivery runs is refused, and a delivery while a read waits", async () => {
  const reader = new PushReader(recordingSource().source);
  void reader.deliver(recordingTarget([]));
  await assertRejects(() => reader.read(new Uint8Array(1)), Error, "a read is already waiting");
  const other = new PushReader(recordingSource().source);
  void other.read(new Uint8Array(1));
  await assertRejects(() => other.deliver(recordingTarget([])), Error, "a read is already waiting");
});
