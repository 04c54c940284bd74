import { assertEquals, assertRejects } from "@std/assert";
import { ConnectionClosedError } from "../src/protocol/errors.ts";
import { Receiver } from "../src/receiver.ts";

Deno.test("receiver: a message offered first waits until a reader takes it", async () => {
  const receiver = new Receiver();
  let taken = false;
  receiver.offer("a")!.then(() => taken = true);
  await null;
  assertEquals(taken, false);
  assertEquals(await receiver.receive(), "a");
  await null;
  assertEquals(taken, true);
});

Deno.test("receiver: readers waiting first get messages in order, with no promise to wait on", async () => {
  const receiver = new Receiver();
  const first = receiver.receive();
  const second = receiver.receive();
  assertEquals(receiver.offer("one"), undefined);
  assertEquals(receiver.offer(new Uint8Array([2])), undefined);
  assertEquals(await first, "one");
  assertEquals(await second, new Uint8Array([2]));
});

Deno.test("receiver: the end rejects waiting and later readers, after the last offer", async () => {
  const receiver = new Receiver();
  const waiting = receiver.receive();
  receiver.end();
  await assertRejects(() => waiting, ConnectionClosedError);
  await assertRejects(() => receiver.receive(), ConnectionClosedError);

  const another = new Receiver();
  another.offer("last");
  another.end();
  assertEquals(await another.receive(), "last");
  await assertRejects(() => another.receive(), ConnectionClosedError);
});

Deno.test("receiver: iteration yields every message and stops at the end", async () => {
  const receiver = new Receiver();
  const collected = (async () => {
    const messages: unknown[] = [];
    for await (const message of receiver.messages()) messages.push(message);
    return messages;
  })();
  for (const message of ["a", "b", "c"]) await receiver.offer(message);
  receiver.end();
  assertEquals(await collected, ["a", "b", "c"]);
});
