/**
 * A handler that is a pair of streams, over an in-memory transport: messages go into its
 * writable side in order and what comes out of its readable side is sent in order; its
 * backpressure is the connection's; the peer's close is answered after the pipeline's replies;
 * a transform that throws closes with 1011; an output that ends closes with 1000.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import type { Message } from "../src/protocol/message.ts";
import { serverSettings } from "../src/serve_options.ts";
import { type Frame, Opcode } from "../src/protocol/frame.ts";
import { settle } from "./helpers/fake_clock.ts";
import { closePayload } from "./helpers/frames.ts";
import { open } from "./helpers/memory_connection.ts";

const decoder = new TextDecoder();
const texts = (frames: Frame[]) =>
  frames.map((frame) => frame.opcode === Opcode.Close ? "<close>" : decoder.decode(frame.payload));

/** A transform that answers each text message `n` with `n` copies, each after a pause. */
function repeater(): TransformStream<Message, Message> {
  return new TransformStream<Message, Message>({
    async transform(message, out) {
      for (let i = 0; i < Number(message); i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        out.enqueue(`${message}.${i}`);
      }
    },
  });
}

Deno.test("stream handler: messages go through the pair in order, and what comes out is sent in order", async () => {
  const { send, peer } = open({ handler: { stream: repeater } });
  for (const message of ["2", "0", "3", "1"]) await send(Opcode.Text, message);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assertEquals(texts(await peer.take()), ["2.0", "2.1", "3.0", "3.1", "3.2", "1.0"]);
  await peer[Symbol.asyncDispose]();
});

Deno.test("stream handler: the peer's close is answered once the replies to what came before it are out", async () => {
  const { send, peer, connection } = open({ handler: { stream: repeater } });
  await send(Opcode.Text, "3");
  await send(Opcode.Close, closePayload(4000, "done"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const frames = await peer.take();
  assertEquals(texts(frames), ["3.0", "3.1", "3.2", "<close>"]);
  // The close echoes the peer's.
  assertEquals([...frames[3].payload], [...closePayload(4000, "done")]);
  assert(peer.ended, "the server ended TCP after the close handshake");
  await peer[Symbol.asyncDispose]();
  assertEquals((await connection.closed).wasClean, true);
});

Deno.test("stream handler: a transform that throws closes the connection with 1011, and onError hears", async () => {
  const { send, peer, errors, connection } = open({
    handler: {
      stream: () =>
        new TransformStream<Message, Message>({
          transform(message, out) {
            if (message === "bad") throw new Error("the transform broke");
            out.enqueue(message);
          },
        }),
    },
  });
  await send(Opcode.Text, "good");
  await send(Opcode.Text, "bad");
  await settle();
  const frames = await peer.take();
  assertEquals(texts(frames), ["good", "<close>"]);
  assertEquals([...frames[1].payload], [0x03, 0xf3], "1011 with no detail");
  assertEquals((errors[0] as Error).message, "the transform broke");
  assertEquals(connection.state, "closing");
});

Deno.test("stream handler: a pair whose output ends by itself closes the connection with 1000", async () => {
  const { send, peer } = open({
    handler: {
      stream: () =>
        new TransformStream<Message, Message>({
          transform(message, out) {
            out.enqueue(message);
            if (message === "last") out.terminate();
          },
        }),
    },
  });
  await send(Opcode.Text, "first");
  await send(Opcode.Text, "last");
  await settle();
  const frames = await peer.take();
  assertEquals(texts(frames), ["first", "last", "<close>"]);
  assertEquals([...frames[2].payload], [0x03, 0xe8]);
});

Deno.test("stream handler: a pair that does not take messages stops reading the peer past maxQueuedMessages", async () => {
  const gate = Promise.withResolvers<void>();
  const { send, peer } = open({
    maxQueuedMessages: 2,
    capacity: 64,
    handler: {
      stream: () =>
        new TransformStream<Message, Message>({
          async transform(message, out) {
            await gate.promise;
            out.enqueue(message);
          },
        }),
    },
  });
  const messages = Array.from({ length: 40 }, (_, i) => `message ${String(i).padStart(2, "0")}`);
  const writing = (async () => {
    for (const text of messages) await send(Opcode.Text, text);
  })();
  await settle();
  const unread = peer.transport.bytesWritten;
  assert(unread <= 14 * 16, `${unread} bytes of 40 messages written while the pair held them`);
  gate.resolve();
  await writing;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals(texts(await peer.take()), messages);
  await peer[Symbol.asyncDispose]();
});

Deno.test("stream handler: serve() refuses a TransformStream itself, which would serve one connection", () => {
  assertThrows(
    () => serverSettings({}, new TransformStream() as never),
    TypeError,
    "a TransformStream serves one connection",
  );
});
