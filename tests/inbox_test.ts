import { assertEquals, assertRejects } from "@std/assert";
import { Inbox } from "../src/inbox.ts";
import { ConnectionClosedError } from "../src/protocol/errors.ts";

/** Whether `promise` has settled once everything queued so far has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("inbox: is full while more than the high water mark wait, and reads on at the low one", async () => {
  const inbox = new Inbox(4, 1);
  for (let i = 0; i < 4; i++) inbox.push(`m${i}`);
  assertEquals(inbox.full, false, "4 waiting is not over 4");
  inbox.push("m4");
  assertEquals([inbox.full, inbox.size], [true, 5]);
  const reading = inbox.belowLowWater();
  inbox.take();
  inbox.take();
  inbox.take();
  assertEquals(
    [inbox.full, await settled(reading)],
    [false, false],
    "2 waiting, over the low mark",
  );
  inbox.take();
  assertEquals(await settled(reading), true);
});

Deno.test("inbox: the low water mark is a quarter of the high by default", async () => {
  const inbox = new Inbox(16);
  for (let i = 0; i < 17; i++) inbox.push(i.toString());
  const reading = inbox.belowLowWater();
  for (let i = 0; i < 12; i++) inbox.take();
  assertEquals([inbox.size, await settled(reading)], [5, false]);
  inbox.take();
  assertEquals([inbox.size, await settled(reading)], [4, true]);
});

Deno.test("inbox: with a high water mark of 0, one waiting message holds reading until it is taken", async () => {
  const inbox = new Inbox(0);
  inbox.push("only");
  assertEquals(inbox.full, true);
  const reading = inbox.belowLowWater();
  assertEquals(inbox.take(), "only");
  assertEquals(await settled(reading), true);
});

Deno.test("inbox: releasing reading empties no message but holds reading back no more", async () => {
  const inbox = new Inbox(0);
  inbox.push("a");
  inbox.push("b");
  const reading = inbox.belowLowWater();
  inbox.releaseReading();
  assertEquals([inbox.full, await settled(reading), inbox.size], [false, true, 2]);
  assertEquals(await inbox.belowLowWater(), undefined);
  assertEquals([inbox.take(), inbox.take(), inbox.take()], ["a", "b", undefined]);
});

Deno.test("inbox: receive() takes waiting messages in order, and readers waiting first get them as they come", async () => {
  const inbox = new Inbox(16);
  inbox.push("one");
  assertEquals(await inbox.receive(), "one");
  const first = inbox.receive();
  const second = inbox.receive();
  inbox.push("two");
  inbox.push(new Uint8Array([3]));
  assertEquals([await first, await second, inbox.size], ["two", new Uint8Array([3]), 0]);
});

Deno.test("inbox: after the end, what waits is still received, then receive() rejects; waiting readers are rejected", async () => {
  const waiting = new Inbox(16);
  const reader = waiting.receive();
  waiting.end();
  await assertRejects(() => reader, ConnectionClosedError);

  const inbox = new Inbox(0);
  inbox.push("last");
  const reading = inbox.belowLowWater();
  inbox.end();
  assertEquals(await settled(reading), true, "the end releases reading");
  assertEquals(await inbox.receive(), "last");
  await assertRejects(() => inbox.receive(), ConnectionClosedError);
});

Deno.test("inbox: iteration yields every message and stops at the end", async () => {
  const inbox = new Inbox(16);
  const collected = (async () => {
    const messages: unknown[] = [];
    for await (const message of inbox.messages()) messages.push(message);
    return messages;
  })();
  for (const message of ["a", "b", "c"]) inbox.push(message);
  await new Promise((resolve) => setTimeout(resolve, 0));
  inbox.push("d");
  inbox.end();
  assertEquals(await collected, ["a", "b", "c", "d"]);
});
