import { assertEquals } from "@std/assert";
import { Inbox } from "../src/inbox.ts";
import type { Message } from "../src/protocol/message.ts";
import { type Reply, ReplyPump, type ReplyTarget } from "../src/reply_pump.ts";
import { settle } from "./helpers/fake_clock.ts";

/** A target that records replies; `uncopied` and `overLimit` say how to answer the pump. */
function target(options: { uncopied?: boolean; closing?: boolean } = {}) {
  const replies: Message[] = [];
  const events: string[] = [];
  let written = Promise.withResolvers<void>();
  const recorded: ReplyTarget & { overLimit: boolean } = {
    queueReply(message) {
      if (options.closing) return null;
      replies.push(message);
      return options.uncopied ?? false;
    },
    overLimit: false,
    belowLimit: () => Promise.resolve(),
    written: () => written.promise,
    handlerFailed: (error) => events.push(`failed ${(error as Error).message}`),
    idle: () => events.push("idle"),
  };
  const write = () => {
    written.resolve();
    written = Promise.withResolvers();
  };
  return { recorded, replies, events, write };
}

function pump(handler: (message: Message) => Reply | Promise<Reply>, to: ReplyTarget) {
  const inbox = new Inbox(16);
  return { inbox, pump: new ReplyPump(inbox, handler, undefined, to) };
}

Deno.test("reply pump: replies go out in the order of the messages, sync, async and iterable alike", async () => {
  const { recorded, replies, events } = target();
  const { inbox, pump: replying } = pump(async (message) => {
    if (message === "many") return ["1", "2"];
    if (message === "gen") {
      return (async function* () {
        yield "g1";
        await settle();
        yield "g2";
      })();
    }
    if (message === "none") return undefined;
    await settle();
    return `re ${message}`;
  }, recorded);
  for (const message of ["a", "many", "none", "gen", "b"]) inbox.push(message);
  replying.wake();
  await replying.idleOrClosing();
  assertEquals(replies, ["re a", "1", "2", "g1", "g2", "re b"]);
  assertEquals(events, ["idle"]);
});

Deno.test("reply pump: an uncopied reply holds the next message back until it is written", async () => {
  const { recorded, replies, write } = target({ uncopied: true });
  const handled: Message[] = [];
  const { inbox, pump: replying } = pump((message) => {
    handled.push(message);
    return new Uint8Array([handled.length]);
  }, recorded);
  inbox.push("a");
  inbox.push("b");
  replying.wake();
  await settle();
  assertEquals(handled, ["a"]);
  write();
  await settle();
  assertEquals([handled, replies.length], [["a", "b"], 2]);
  write();
  await replying.idleOrClosing();
});

Deno.test("reply pump: the received message echoed back waits for nothing", async () => {
  const { recorded, replies } = target({ uncopied: true });
  const { inbox, pump: replying } = pump((message) => message, recorded);
  const message = new Uint8Array([1]);
  inbox.push(message);
  inbox.push(message.slice());
  replying.wake();
  await settle();
  // Nothing reuses a received message's bytes, so both go out without a write in between.
  assertEquals(replies.length, 2);
});

Deno.test("reply pump: once closing, an iterable's rest is not pulled, and idleOrClosing() ends at once", async () => {
  const { recorded, replies } = target({ closing: true });
  let pulled = 0;
  let finished = false;
  const { inbox, pump: replying } = pump(() =>
    (function* () {
      try {
        for (;;) {
          pulled++;
          yield "more";
        }
      } finally {
        finished = true;
      }
    })(), recorded);
  inbox.push("go");
  replying.wake();
  await settle();
  assertEquals([pulled, finished, replies], [1, true, []]);
  const waiting = new Inbox(16);
  const stuck = new ReplyPump(waiting, () => new Promise(() => {}), undefined, target().recorded);
  waiting.push("x");
  stuck.wake();
  let ended = false;
  stuck.idleOrClosing().then(() => ended = true);
  await settle();
  assertEquals(ended, false);
  stuck.closingBegan();
  await settle();
  assertEquals(ended, true);
});

Deno.test("reply pump: a handler that throws is reported once and given no more messages", async () => {
  const { recorded, events } = target();
  const handled: Message[] = [];
  const { inbox, pump: replying } = pump((message) => {
    handled.push(message);
    throw new Error("boom");
  }, recorded);
  inbox.push("a");
  inbox.push("b");
  replying.wake();
  await replying.idleOrClosing();
  inbox.push("c");
  replying.wake();
  await settle();
  assertEquals([handled, events], [["a"], ["failed boom", "idle"]]);
});

Deno.test("reply pump: a reply that is not a message is a handler error", async () => {
  const { recorded, events } = target();
  const { inbox, pump: replying } = pump(() => 42 as unknown as Reply, recorded);
  inbox.push("a");
  replying.wake();
  await replying.idleOrClosing();
  assertEquals(events[0], "failed a handler returned number, not a string, bytes or iterable");
});
