import { assertEquals, assertThrows } from "@std/assert";
import { Connection } from "../../src/protocol/connection.ts";
import {
  ConnectionClosedError,
  KeepaliveTimeoutError,
  SlowConsumerError,
} from "../../src/protocol/errors.ts";
import { Opcode, RSV1 } from "../../src/protocol/frame.ts";
import { DeflateCodec, type DeflateCodecOptions } from "../../src/protocol/deflate.ts";
import { constants as zlibConstants, deflateRawSync } from "node:zlib";
import { FrameParser } from "../../src/protocol/parser.ts";
import type { Frame } from "../../src/protocol/frame.ts";
import { TAKEOVER_CODEC } from "../helpers/deflate.ts";
import { bytewise, closePayload, concat, frame } from "../helpers/frames.ts";

const server = () => new Connection({ role: "server" });

/** Decodes what a server connection sends, as a client would (that negotiated compression). */
function sent(bytes: Uint8Array[]): Frame[] {
  const parser = new FrameParser({ role: "client", allowedRsv: RSV1 });
  const frames: Frame[] = [];
  for (const chunk of bytes) parser.push(chunk.slice(), (f) => frames.push(f));
  return frames;
}

Deno.test("connection: answers each ping with a pong of the same payload", () => {
  const connection = server();
  const messages = connection.receive(concat(frame(Opcode.Ping, "a"), frame(Opcode.Ping, "")));
  assertEquals(messages, []);
  assertEquals(sent(connection.dataToSend()).map((f) => [f.opcode, f.payload]), [
    [Opcode.Pong, new Uint8Array([0x61])],
    [Opcode.Pong, new Uint8Array()],
  ]);
  assertEquals(connection.dataToSend(), []);
});

Deno.test("connection: ignores unsolicited pongs", () => {
  const connection = server();
  assertEquals(connection.receive(frame(Opcode.Pong, "x")), []);
  assertEquals(connection.dataToSend(), []);
  assertEquals(connection.state, "open");
});

Deno.test("connection: control frames between fragments are handled, the message still whole", () => {
  const connection = server();
  const bytes = concat(
    frame(Opcode.Text, "Hel", { fin: false }),
    frame(Opcode.Ping, "p"),
    frame(Opcode.Continuation, "lo"),
  );
  const messages = bytewise(bytes).flatMap((byte) => connection.receive(byte));
  assertEquals(messages, ["Hello"]);
  assertEquals(sent(connection.dataToSend()).map((f) => f.opcode), [Opcode.Pong]);
});

Deno.test("connection: records the peer's close and echoes its code and reason", () => {
  const connection = server();
  assertEquals(
    connection.receive(
      concat(frame(Opcode.Text, "last"), frame(Opcode.Close, closePayload(4000, "done"))),
    ),
    ["last"],
  );
  assertEquals(connection.state, "closing");
  assertEquals(connection.closeReceived, { code: 4000, reason: "done" });
  const [echo] = sent([connection.close()]);
  assertEquals([echo.opcode, echo.payload], [Opcode.Close, closePayload(4000, "done")]);
  connection.receiveEof();
  assertEquals(connection.state, "closed");
  assertEquals(connection.closeInfo, { code: 4000, reason: "done", wasClean: true });
});

Deno.test("connection: an empty close is answered with an empty close and reported as 1005", () => {
  const connection = server();
  connection.receive(frame(Opcode.Close));
  assertEquals(sent([connection.close()])[0].payload, new Uint8Array());
  assertEquals(connection.closeInfo, { code: 1005, reason: "", wasClean: true });
});

Deno.test("connection: ignores everything after the peer's close frame", () => {
  const connection = server();
  const messages = connection.receive(
    concat(
      frame(Opcode.Close, closePayload(1000)),
      frame(Opcode.Text, "late"),
      frame(Opcode.Ping),
      frame(Opcode.Text, "x", { rsv: 2 }),
    ),
  );
  assertEquals(messages, []);
  assertEquals(connection.dataToSend(), []);
  assertEquals(connection.failure, null);
  assertEquals(connection.receive(frame(Opcode.Text, "later")), []);
});

Deno.test("connection: a violation keeps the messages before it and records the failure", () => {
  const connection = server();
  const messages = connection.receive(concat(frame(Opcode.Text, "ok"), frame(Opcode.Text, [0xff])));
  assertEquals(messages, ["ok"]);
  assertEquals(connection.failure?.closeCode, 1007);
  assertEquals(connection.state, "closing");
  assertEquals(connection.receive(frame(Opcode.Text, "after")), []);
  const [close] = sent([
    connection.close(connection.failure!.closeCode, connection.failure!.message),
  ]);
  assertEquals(close.payload.subarray(0, 2), new Uint8Array([0x03, 0xef]));
  connection.receiveEof();
  assertEquals(connection.closeInfo.code, 1006);
  assertEquals(connection.closeInfo.wasClean, false);
  assertEquals(connection.closeInfo.error?.closeCode, 1007);
});

Deno.test("connection: invalid UTF-8 in a large frame fails before the frame is complete", () => {
  const connection = server();
  const bytes = frame(Opcode.Text, concat(new Uint8Array([0x61, 0xc0]), new Uint8Array(10_000)));
  connection.receive(bytes.subarray(0, 100));
  assertEquals(connection.failure?.closeCode, 1007);
});

Deno.test("connection: a close frame with an invalid code fails with 1002", () => {
  const connection = server();
  connection.receive(frame(Opcode.Close, closePayload(1005)));
  assertEquals(connection.failure?.closeCode, 1002);
  assertEquals(connection.closeReceived, null);
});

Deno.test("connection: a server-initiated close waits for the peer's; TCP loss before it is 1006", () => {
  const connection = server();
  const [close] = sent([connection.close(1001, "bye")]);
  assertEquals(close.payload, closePayload(1001, "bye"));
  assertEquals(connection.state, "closing");
  // Messages still arrive until the peer's close frame, and pings are still owed a pong.
  assertEquals(connection.receive(concat(frame(Opcode.Text, "in flight"), frame(Opcode.Ping))), [
    "in flight",
  ]);
  assertEquals(sent(connection.dataToSend()).map((f) => f.opcode), [Opcode.Pong]);
  connection.receiveEof();
  assertEquals(connection.closeInfo, { code: 1006, reason: "", wasClean: false });
});

Deno.test("connection: nothing may be sent after this end's close frame", () => {
  const connection = server();
  connection.close();
  assertThrows(() => connection.send("x"), ConnectionClosedError);
  assertThrows(() => connection.close(), ConnectionClosedError);
});

Deno.test("connection: refuses to send a code reserved for local use, and stays open", () => {
  const connection = server();
  for (const code of [1005, 1006, 1015]) assertThrows(() => connection.close(code), RangeError);
  assertEquals([connection.state, connection.closeSent], ["open", null]);
});

Deno.test("connection: a server sends unmasked frames, a client masked ones", () => {
  const [text] = sent(server().send("Hi"));
  assertEquals([text.opcode, text.payload], [Opcode.Text, new TextEncoder().encode("Hi")]);
  const binary = server().send(new Uint8Array([1, 2]));
  assertEquals(binary, [new Uint8Array([0x82, 0x02, 1, 2])]);
  const client = new Connection({ role: "client" });
  const [bytes] = client.send("Hi");
  assertEquals(bytes[1], 0x80 | 2);
  const echo = server().receive(bytes);
  assertEquals(echo, ["Hi"]);
});

Deno.test("connection: the message limit applies (1009)", () => {
  const connection = new Connection({ role: "server", maxMessageBytes: 4 });
  assertEquals(
    connection.receive(concat(frame(Opcode.Text, "four"), frame(Opcode.Text, "fives"))),
    ["four"],
  );
  assertEquals(connection.failure?.closeCode, 1009);
});

Deno.test("connection: a large binary payload goes out after its header, not copied", () => {
  const payload = new Uint8Array(300_000).fill(9);
  const chunks = server().send(payload);
  assertEquals(chunks.length, 2);
  assertEquals(chunks[0], new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 4, 0x93, 0xe0]));
  assertEquals(chunks[1] === payload, true);
  // A client must mask, so it copies.
  const masked = new Connection({ role: "client" }).send(payload);
  assertEquals([masked.length, masked[0].length], [1, 14 + 300_000]);
  assertEquals(payload[0], 9);
});

Deno.test("connection: a server sends a received binary message back in its own buffer", () => {
  const connection = server();
  const [message] = connection.receive(frame(Opcode.Binary, new Uint8Array(1000).fill(5)));
  const chunks = connection.send(message);
  assertEquals(chunks.length, 1);
  assertEquals(chunks[0].buffer === (message as Uint8Array).buffer, true);
  assertEquals(sent(chunks), [{ fin: true, rsv: 0, opcode: Opcode.Binary, payload: message }]);
  // A client masks, so it copies, and leaves the message as it was.
  const client = new Connection({ role: "client" }).send(message);
  assertEquals(client[0].buffer === (message as Uint8Array).buffer, false);
  assertEquals(message, new Uint8Array(1000).fill(5));
});

/** The pong a peer sends back for a ping this connection sent: the same payload, masked. */
function pongTo(ping: Uint8Array): Uint8Array {
  const [sentPing] = sent([ping]);
  assertEquals(sentPing.opcode, Opcode.Ping);
  return frame(Opcode.Pong, sentPing.payload);
}

Deno.test("connection: a keepalive ping awaits the pong that echoes its payload", () => {
  const connection = server();
  assertEquals(connection.awaitingPong, false);
  const ping = connection.ping();
  assertEquals(connection.awaitingPong, true);
  // Unsolicited pongs, and one with another payload, do not answer it.
  connection.receive(concat(frame(Opcode.Pong), frame(Opcode.Pong, [0, 0, 0, 2])));
  assertEquals(connection.awaitingPong, true);
  connection.receive(pongTo(ping));
  assertEquals(connection.awaitingPong, false);
  assertEquals(connection.state, "open");
});

Deno.test("connection: a late pong for an earlier ping does not answer the latest", () => {
  const connection = server();
  const first = connection.ping();
  const second = connection.ping();
  assertEquals(sent([first])[0].payload, new Uint8Array([0, 0, 0, 1]));
  assertEquals(sent([second])[0].payload, new Uint8Array([0, 0, 0, 2]));
  connection.receive(pongTo(first));
  assertEquals(connection.awaitingPong, true);
  // Split anywhere, the right pong is still recognised.
  for (const byte of bytewise(pongTo(second))) connection.receive(byte);
  assertEquals(connection.awaitingPong, false);
});

Deno.test("connection: a client's keepalive ping is masked; the server's pong answers it", () => {
  const client = new Connection({ role: "client" });
  const ping = client.ping();
  assertEquals(ping[1] & 0x80, 0x80);
  const serverSide = server();
  serverSide.receive(ping);
  const [pong] = serverSide.dataToSend();
  client.receive(pong);
  assertEquals(client.awaitingPong, false);
});

Deno.test("connection: no ping once this end's close frame is sent", () => {
  const connection = server();
  connection.close();
  assertThrows(() => connection.ping(), ConnectionClosedError);
});

Deno.test("connection: fail() sends the failure's close code and records it as the reason", () => {
  const connection = server();
  const failure = new KeepaliveTimeoutError(100);
  const [closeFrame] = sent([connection.fail(failure)!]);
  assertEquals(closeFrame.payload, closePayload(1011, "keepalive ping timeout"));
  assertEquals([connection.state, connection.failure], ["closing", failure]);
  // Nothing more is read; a second failure sends nothing and keeps the first.
  assertEquals(connection.receive(frame(Opcode.Text, "late")), []);
  assertEquals(connection.fail(new SlowConsumerError(10, 5)), null);
  connection.receiveEof();
  assertEquals(connection.closeInfo, { code: 1006, reason: "", wasClean: false, error: failure });
});

Deno.test("connection: fail() after this end's close records the failure without a second close", () => {
  const connection = server();
  connection.close(1000);
  const failure = new SlowConsumerError(10, 5);
  assertEquals(connection.fail(failure), null);
  assertEquals(connection.failure, failure);
});

Deno.test("connection: dataReceived grows with data frames and their parts, not control frames", () => {
  const connection = server();
  const count = (bytes: Uint8Array) => {
    const before = connection.dataReceived;
    connection.receive(bytes);
    return connection.dataReceived - before;
  };
  assertEquals(count(concat(frame(Opcode.Ping, "p"), frame(Opcode.Pong, "q"))), 0);
  assertEquals(count(frame(Opcode.Text, "hi")) > 0, true);
  const fragment = frame(Opcode.Binary, new Uint8Array(100), { fin: false });
  assertEquals(count(fragment) > 0, true);
  // Part of a frame's payload is data arriving too.
  const last = frame(Opcode.Continuation, new Uint8Array(100));
  assertEquals(count(last.subarray(0, 50)) > 0, true);
  assertEquals(count(last.subarray(50)) > 0, true);
  // Half a ping is not.
  assertEquals(count(frame(Opcode.Ping, "later").subarray(0, 8)), 0);
});

Deno.test("connection: the frame and fragment limits apply (1009, 1008)", () => {
  const frames = new Connection({ role: "server", maxFrameBytes: 3 });
  frames.receive(concat(frame(Opcode.Text, "abc"), frame(Opcode.Text, "abcd")));
  assertEquals(frames.failure?.closeCode, 1009);
  const fragments = new Connection({ role: "server", maxFragments: 1 });
  assertEquals(fragments.receive(frame(Opcode.Text, "whole")), ["whole"]);
  fragments.receive(
    concat(frame(Opcode.Text, "a", { fin: false }), frame(Opcode.Continuation, "b")),
  );
  assertEquals(fragments.failure?.closeCode, 1008);
});

// permessage-deflate (RFC 7692): what a connection does with a codec.

const DEFLATE: DeflateCodecOptions = { ...TAKEOVER_CODEC, threshold: 16 };
/** RFC 7692 §7.2.3.1: "Hello", compressed. */
const HELLO = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const deflating = (maxMessageBytes?: number) =>
  new Connection({ role: "server", maxMessageBytes, deflate: new DeflateCodec(DEFLATE) });

Deno.test("connection: with permessage-deflate, a frame with RSV1 is inflated", () => {
  const connection = deflating();
  assertEquals(connection.receive(frame(Opcode.Text, HELLO, { rsv: RSV1 })), ["Hello"]);
  // The window is kept: RFC 7692 §7.2.3.2's second "Hello" refers back to the first.
  const second = [0xf2, 0x00, 0x11, 0x00, 0x00];
  assertEquals(connection.receive(frame(Opcode.Binary, second, { rsv: RSV1 })), [
    new TextEncoder().encode("Hello"),
  ]);
  // Uncompressed messages are still fine.
  assertEquals(connection.receive(frame(Opcode.Text, "plain")), ["plain"]);
});

Deno.test("connection: a compressed message in fragments, with a ping between, is inflated once whole", () => {
  const connection = deflating();
  const bytes = concat(
    frame(Opcode.Text, HELLO.slice(0, 3), { rsv: RSV1, fin: false }),
    frame(Opcode.Ping, "p"),
    frame(Opcode.Continuation, HELLO.slice(3)),
  );
  for (const chunks of [[bytes], bytewise(bytes)]) {
    const fresh = chunks.length === 1 ? connection : deflating();
    assertEquals(chunks.flatMap((chunk) => fresh.receive(chunk)), ["Hello"]);
    assertEquals(sent(fresh.dataToSend()).map((f) => f.opcode), [Opcode.Pong]);
  }
});

const RSV1_MISUSE: [name: string, bytes: Uint8Array, deflate: boolean][] = [
  ["RSV1 without the extension", frame(Opcode.Text, HELLO, { rsv: RSV1 }), false],
  [
    "RSV1 on a continuation",
    concat(
      frame(Opcode.Text, HELLO.slice(0, 3), { rsv: RSV1, fin: false }),
      frame(Opcode.Continuation, HELLO.slice(3), { rsv: RSV1 }),
    ),
    true,
  ],
  ["RSV1 on a ping", frame(Opcode.Ping, "p", { rsv: RSV1 }), true],
  ["RSV1 on a close", frame(Opcode.Close, closePayload(1000), { rsv: RSV1 }), true],
  ["RSV2", frame(Opcode.Text, HELLO, { rsv: 2 }), true],
];

for (const [name, bytes, withDeflate] of RSV1_MISUSE) {
  Deno.test(`connection: ${name} fails with 1002`, () => {
    const connection = withDeflate ? deflating() : server();
    assertEquals(connection.receive(bytes), []);
    assertEquals(connection.failure?.closeCode, 1002);
  });
}

Deno.test("connection: compressed text that inflates to invalid UTF-8 fails with 1007", () => {
  const connection = deflating();
  const compressed = deflateRawSync(new Uint8Array([0x61, 0xff, 0x62]), {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  }).subarray(0, -4);
  assertEquals(connection.receive(frame(Opcode.Text, compressed, { rsv: RSV1 })), []);
  assertEquals(connection.failure?.closeCode, 1007);
});

Deno.test("connection: invalid compressed data fails with 1007", () => {
  const connection = deflating();
  assertEquals(connection.receive(frame(Opcode.Binary, [0xff, 0xff], { rsv: RSV1 })), []);
  assertEquals(connection.failure?.closeCode, 1007);
});

Deno.test("connection: a message that inflates past maxMessageBytes fails with 1009", () => {
  const connection = deflating(1000);
  // 1001 bytes that compress to a handful: only the inflated size is over the limit.
  const compressed = deflateRawSync(new Uint8Array(1001)).subarray(0);
  assertEquals(connection.receive(frame(Opcode.Binary, compressed, { rsv: RSV1 })), []);
  assertEquals(connection.failure?.closeCode, 1009);
  const exact = deflating(1000);
  const fits = deflateRawSync(new Uint8Array(1000));
  assertEquals(
    (exact.receive(frame(Opcode.Binary, fits, { rsv: RSV1 }))[0] as Uint8Array).length,
    1000,
  );
});

Deno.test("connection: with permessage-deflate, messages from the threshold up go compressed", () => {
  const connection = deflating();
  const long = "Hello, hello, hello, hello!";
  const frames = sent([
    ...connection.send("short"),
    ...connection.send(long),
    ...connection.send(new TextEncoder().encode(long)),
  ]);
  assertEquals(frames.map((f) => [f.opcode, f.rsv]), [
    [Opcode.Text, 0],
    [Opcode.Text, RSV1],
    [Opcode.Binary, RSV1],
  ]);
  assertEquals(new TextDecoder().decode(frames[0].payload), "short");
  const peer = new DeflateCodec(DEFLATE);
  assertEquals(new TextDecoder().decode(peer.inflate([frames[1].payload], 1024)), long);
  assertEquals(new TextDecoder().decode(peer.inflate([frames[2].payload], 1024)), long);
  peer.close();
});

Deno.test("connection: a client's compressed frames are masked, and a server inflates them", () => {
  const client = new Connection({ role: "client", deflate: new DeflateCodec(DEFLATE) });
  const server = deflating();
  const long = "permessage-deflate ".repeat(20);
  for (let round = 0; round < 3; round++) {
    const [bytes] = client.send(long);
    assertEquals(bytes[0] & 0x70, RSV1 << 4);
    assertEquals(bytes[1] & 0x80, 0x80);
    assertEquals(server.receive(bytes), [long]);
  }
});

Deno.test("connection: with permessage-deflate, a message under the threshold keeps its uncompressed encoding", () => {
  const deflate = new DeflateCodec({ ...DEFLATE, threshold: 2048 });
  const connection = new Connection({ role: "server", deflate });
  // A received binary message goes back in its own buffer, as without compression.
  const [received] = connection.receive(frame(Opcode.Binary, new Uint8Array(1000).fill(7)));
  const [echo] = connection.send(received);
  assertEquals(echo.buffer, (received as Uint8Array).buffer);
  assertEquals(sent([echo])[0].rsv, 0);
});
