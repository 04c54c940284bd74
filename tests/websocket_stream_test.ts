/**
 * `WebSocketStream`, the WHATWG proposal's shape of `connect()`, over loopback TCP: `opened`
 * with the connection's streams, `closed` with the server's close code (rejecting when the close
 * was not clean), `close()` and its checks, an abort signal; and `connect()` with a pair of
 * streams as its handler.
 */

import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { connect, type Message, WebSocketError, WebSocketStream } from "../mod.ts";
import { withTimeout } from "./helpers/client.ts";
import { RawServer } from "./helpers/raw_server.ts";
import { startServer } from "./helpers/server.ts";

const echo = (message: Message) => message;

Deno.test("WebSocketStream: opened gives readable and writable, protocol and extensions", async () => {
  await using server = startServer({
    onUpgrade: (request) => ({ protocol: request.protocols[1] }),
  }, echo);
  const wss = new WebSocketStream(server.url("/streams"), { protocols: ["a", "b"] });
  assertEquals(wss.url, server.url("/streams"));
  const { readable, writable, protocol, extensions } = await withTimeout(wss.opened, "opened");
  assertEquals([protocol, extensions], ["b", ""]);
  const writer = writable.getWriter();
  await writer.write("text");
  await writer.write(new Uint8Array([1, 2, 3]));
  const reader = readable.getReader();
  assertEquals((await reader.read()).value, "text");
  assertEquals((await reader.read()).value, new Uint8Array([1, 2, 3]));
  wss.close({ closeCode: 4000, reason: "bye" });
  assertEquals(await withTimeout(wss.closed, "closed"), { closeCode: 4000, reason: "bye" });
  assertEquals((await reader.read()).done, true);
});

Deno.test("WebSocketStream: a pipeline of its streams is a client", async () => {
  await using server = startServer({}, (message) => `echo ${message}`);
  const wss = new WebSocketStream(server.url());
  const { readable, writable } = await wss.opened;
  const replies: Message[] = [];
  const sending = ReadableStream.from(["a", "b", "c"]).pipeTo(writable, { preventClose: true });
  const reader = readable.getReader();
  for (let i = 0; i < 3; i++) replies.push((await reader.read()).value!);
  await sending;
  assertEquals(replies, ["echo a", "echo b", "echo c"]);
  wss.close();
  assertEquals(await wss.closed, { closeCode: 1000, reason: "" });
});

Deno.test("WebSocketStream: closed rejects with a WebSocketError when the close was not clean", async () => {
  await using server = new RawServer();
  const wss = new WebSocketStream(server.url());
  const peer = await server.accept();
  await wss.opened;
  // TCP ends without a close frame.
  peer.close();
  const error = await assertRejects(() => withTimeout(wss.closed, "closed"), WebSocketError);
  assertEquals([error.closeCode, error.name], [1006, "WebSocketError"]);
});

Deno.test("WebSocketStream: an aborted signal abandons the opening; close() before open does too", async () => {
  await using server = new RawServer();
  const controller = new AbortController();
  const wss = new WebSocketStream(server.url(), { signal: controller.signal });
  // The server never answers.
  const accepted = server.accept(() => null);
  await accepted;
  controller.abort(new Error("no longer wanted"));
  const error = await assertRejects(() => withTimeout(wss.opened, "opened"));
  assertEquals((error as Error).message, "no longer wanted");
  await assertRejects(() => wss.closed);

  const closedEarly = new WebSocketStream(server.url());
  await server.accept(() => null);
  closedEarly.close({ closeCode: 3001 });
  assertEquals((await assertRejects(() => closedEarly.opened, WebSocketError)).closeCode, 3001);
});

Deno.test("WebSocketStream: close() refuses a code that may not be sent, or a reason over 123 bytes", async () => {
  await using server = startServer({}, echo);
  const wss = new WebSocketStream(server.url());
  await wss.opened;
  for (const closeCode of [1001, 1011, 2999, 5000]) {
    const error = assertThrows(() => wss.close({ closeCode }), DOMException);
    assertEquals(error.name, "InvalidAccessError");
  }
  const error = assertThrows(() => wss.close({ reason: "x".repeat(124) }), DOMException);
  assertEquals(error.name, "SyntaxError");
  wss.close();
  await wss.closed;
});

Deno.test("WebSocketStream: a URL that is not ws:// or wss:// throws at once", () => {
  assertThrows(() => new WebSocketStream("ftp://example.com/"), TypeError);
});

Deno.test("connect: a TransformStream as the handler is the connection's pipeline", async () => {
  await using server = startServer({}, echo);
  const seen: Message[] = [];
  const connection = await connect(server.url(), {
    handler: new TransformStream<Message, Message>({
      transform(message, out) {
        seen.push(message);
        if (message === "ping 1") out.enqueue("ping 2");
      },
    }),
  });
  await connection.send("ping 1");
  await withTimeout(
    (async () => {
      while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    "the echoes",
  );
  assertEquals(seen, ["ping 1", "ping 2"]);
  assertInstanceOf(connection.writable, WritableStream);
  await connection.close();
});

Deno.test("connect: an aborted signal rejects it with the signal's reason", async () => {
  await using server = new RawServer();
  const controller = new AbortController();
  const connecting = connect(server.url(), { signal: controller.signal });
  await server.accept(() => null);
  controller.abort(new Error("stop"));
  const error = await assertRejects(() => connecting);
  assertEquals((error as Error).message, "stop");
  await assertRejects(() => connect(server.url(), { signal: AbortSignal.abort() }));
});
