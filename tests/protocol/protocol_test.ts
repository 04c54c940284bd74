import { assert, assertEquals, assertThrows } from "@std/assert";
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
import { Protocol, type ProtocolOptions } from "../../src/protocol/protocol.ts";
import { TAKEOVER_CODEC } from "../helpers/deflate.ts";
import { bytewise, closePayload, concat, frame } from "../helpers/frames.ts";

/** A protocol whose output is recorded: what it wrote (and whether as control), and its ends. */
class Recorded {
  readonly protocol: Protocol;
  /** Every write, in order, with whether it was a control write. */
  readonly writes: { bytes: Uint8Array; control: boolean }[] = [];
  /** Each call of `end()` and `dropQueued()`, in order, among the writes' indexes. */
  readonly events: string[] = [];
  #taken = 0;

  constructor(options: ProtocolOptions) {
    const write = (bytes: Uint8Array, control: boolean) => {
      this.writes.push({ bytes, control });
      this.events.push(control ? "control" : "write");
    };
    this.protocol = new Protocol(options, {
      write,
      bytes: new Uint8Array(0),
      reserve(length) {
        write(this.bytes = new Uint8Array(length), false);
        return 0;
      },
      dropQueued: () => this.events.push("drop"),
      end: (how) => this.events.push(`end ${how}`),
    });
  }

  /** The bytes written since the last call. */
  takeBytes(): Uint8Array[] {
    const bytes = this.writes.slice(this.#taken).map((write) => write.bytes);
    this.#taken = this.writes.length;
    return bytes;
  }

  /** The frames written since the last call, decoded as a client would. */
  take(): Frame[] {
    return sent(this.takeBytes());
  }
}

const server = () => new Recorded({ role: "server" });
const client = () => new Recorded({ role: "client" });

/** Decodes what a server sends, as a client would (one that negotiated compression). */
function sent(bytes: Uint8Array[]): Frame[] {
  const parser = new FrameParser({ role: "client", allowedRsv: RSV1 });
  const frames: Frame[] = [];
  for (const chunk of bytes) {
    parser.push(chunk.slice(), ({ fin, rsv, opcode, payload }) => {
      frames.push({ fin, rsv, opcode, payload: payload.slice() });
    });
  }
  return frames;
}

Deno.test("protocol: answers each ping with a pong of the same payload, as a control write", () => {
  const connection = server();
  const messages = connection.protocol.receiveData(
    concat(frame(Opcode.Ping, "a"), frame(Opcode.Ping, "")),
  );
  assertEquals(messages, []);
  assertEquals(connection.take().map((f) => [f.opcode, f.payload]), [
    [Opcode.Pong, new Uint8Array([0x61])],
    [Opcode.Pong, new Uint8Array()],
  ]);
  assertEquals(connection.events, ["control", "control"]);
});

Deno.test("protocol: ignores unsolicited pongs", () => {
  const connection = server();
  assertEquals(connection.protocol.receiveData(frame(Opcode.Pong, "x")), []);
  assertEquals(connection.events, []);
  assertEquals(connection.protocol.state, "open");
});

Deno.test("protocol: control frames between fragments are handled, the message still whole", () => {
  const connection = server();
  const bytes = concat(
    frame(Opcode.Text, "Hel", { fin: false }),
    frame(Opcode.Ping, "p"),
    frame(Opcode.Continuation, "lo"),
  );
  const messages = bytewise(bytes).flatMap((byte) => connection.protocol.receiveData(byte));
  assertEquals(messages, ["Hello"]);
  assertEquals(connection.take().map((f) => f.opcode), [Opcode.Pong]);
});

Deno.test("protocol: the peer's close is owed an echo of its code and reason; a server then ends TCP with FIN", () => {
  const connection = server();
  const { protocol } = connection;
  assertEquals(
    protocol.receiveData(
      concat(
        frame(Opcode.Text, "last"),
        frame(Opcode.Close, closePayload(4000, "done")),
      ),
    ),
    ["last"],
  );
  assertEquals([protocol.state, protocol.receiving, protocol.closeOwed], [
    "closing",
    false,
    true,
  ]);
  assertEquals(protocol.closeReceived, { code: 4000, reason: "done" });
  assertEquals(connection.events, [], "the answer waits for the I/O layer");
  protocol.close();
  const [echo] = connection.take();
  assertEquals([echo.opcode, echo.payload], [
    Opcode.Close,
    closePayload(4000, "done"),
  ]);
  assertEquals(connection.events, ["write", "end fin"]);
  assertEquals(protocol.closeOwed, false);
  protocol.receiveEof();
  assertEquals(protocol.state, "closed");
  assertEquals(protocol.closeInfo, {
    code: 4000,
    reason: "done",
    wasClean: true,
  });
});

Deno.test("protocol: a client answers the server's close but leaves ending TCP to the server", () => {
  const connection = client();
  connection.protocol.receiveData(
    new Uint8Array([0x88, 0x02, 0x03, 0xe8]), // An unmasked close 1000 from the server.
  );
  connection.protocol.close();
  assertEquals(connection.events, ["write"]);
});

Deno.test("protocol: an empty close is answered with an empty close and reported as 1005", () => {
  const connection = server();
  connection.protocol.receiveData(frame(Opcode.Close));
  connection.protocol.close();
  assertEquals(connection.take()[0].payload, new Uint8Array());
  assertEquals(connection.protocol.closeInfo, {
    code: 1005,
    reason: "",
    wasClean: true,
  });
});

Deno.test("protocol: ignores everything after the peer's close frame", () => {
  const connection = server();
  const { protocol } = connection;
  const messages = protocol.receiveData(
    concat(
      frame(Opcode.Close, closePayload(1000)),
      frame(Opcode.Text, "late"),
      frame(Opcode.Ping),
      frame(Opcode.Text, "x", { rsv: 2 }),
    ),
  );
  assertEquals(messages, []);
  assertEquals(connection.events, []);
  assertEquals(protocol.failure, null);
  assertEquals(protocol.receiveData(frame(Opcode.Text, "later")), []);
});

Deno.test("protocol: a violation keeps the messages before it, and its close carries its code whatever is asked", () => {
  const connection = server();
  const { protocol } = connection;
  const messages = protocol.receiveData(
    concat(frame(Opcode.Text, "ok"), frame(Opcode.Text, [0xff])),
  );
  assertEquals(messages, ["ok"]);
  assertEquals(protocol.failure?.closeCode, 1007);
  assertEquals([protocol.state, protocol.receiving, protocol.closeOwed], [
    "closing",
    false,
    true,
  ]);
  assertEquals(protocol.receiveData(frame(Opcode.Text, "after")), []);
  // The application's own close, say 1000, does not hide the violation.
  protocol.close(1000, "bye");
  const [close] = connection.take();
  assertEquals(close.payload, closePayload(1007, "invalid UTF-8 in text"));
  assertEquals(connection.events, ["write", "end fin"]);
  protocol.receiveEof();
  assertEquals(protocol.closeInfo.code, 1006);
  assertEquals(protocol.closeInfo.wasClean, false);
  assertEquals(protocol.closeInfo.error?.closeCode, 1007);
});

Deno.test("protocol: invalid UTF-8 in a large frame fails before the frame is complete", () => {
  const connection = server();
  const bytes = frame(
    Opcode.Text,
    concat(new Uint8Array([0x61, 0xc0]), new Uint8Array(10_000)),
  );
  connection.protocol.receiveData(bytes.subarray(0, 100));
  assertEquals(connection.protocol.failure?.closeCode, 1007);
});

Deno.test("protocol: a close frame with an invalid code fails with 1002", () => {
  const connection = server();
  connection.protocol.receiveData(frame(Opcode.Close, closePayload(1005)));
  assertEquals(connection.protocol.failure?.closeCode, 1002);
  assertEquals(connection.protocol.closeReceived, null);
});

Deno.test("protocol: a server's own close waits for the peer's before it ends TCP; TCP lost before that is 1006", () => {
  const connection = server();
  const { protocol } = connection;
  protocol.close(1001, "bye");
  const [close] = connection.take();
  assertEquals(close.payload, closePayload(1001, "bye"));
  assertEquals([protocol.state, protocol.closeOwed, protocol.receiving], [
    "closing",
    false,
    true,
  ]);
  // Messages still arrive until the peer's close frame, and pings are still owed a pong.
  assertEquals(
    protocol.receiveData(
      concat(frame(Opcode.Text, "in flight"), frame(Opcode.Ping)),
    ),
    [
      "in flight",
    ],
  );
  assertEquals(connection.take().map((f) => f.opcode), [Opcode.Pong]);
  assertEquals(connection.events, ["write", "control"]);
  protocol.receiveEof();
  assertEquals(protocol.closeInfo, { code: 1006, reason: "", wasClean: false });
});

Deno.test("protocol: once the peer answers this end's close, a server ends TCP with FIN", () => {
  const connection = server();
  connection.protocol.close(1000);
  connection.protocol.receiveData(frame(Opcode.Close, closePayload(1000)));
  assertEquals(connection.events, ["write", "end fin"]);
  assertEquals(connection.protocol.closeInfo, {
    code: 1000,
    reason: "",
    wasClean: true,
  });
});

Deno.test("protocol: nothing may be sent after this end's close frame", () => {
  const { protocol } = server();
  protocol.close();
  assertThrows(() => protocol.send("x"), ConnectionClosedError);
  assertThrows(() => protocol.close(), ConnectionClosedError);
});

Deno.test("protocol: refuses to send a code reserved for local use, and stays open", () => {
  const connection = server();
  for (const code of [1005, 1006, 1015]) {
    assertThrows(() => connection.protocol.close(code), RangeError);
  }
  assertEquals([connection.protocol.state, connection.protocol.closeSent], [
    "open",
    null,
  ]);
  assertEquals(connection.events, []);
});

Deno.test("protocol: a server sends unmasked frames, a client masked ones", () => {
  const text = server();
  text.protocol.send("Hi");
  const [hi] = text.take();
  assertEquals([hi.opcode, hi.payload], [
    Opcode.Text,
    new TextEncoder().encode("Hi"),
  ]);
  const binary = server();
  assertEquals(binary.protocol.send(new Uint8Array([1, 2])), false);
  assertEquals(binary.takeBytes(), [new Uint8Array([0x82, 0x02, 1, 2])]);
  const masking = client();
  masking.protocol.send("Hi");
  const [bytes] = masking.takeBytes();
  assertEquals(bytes[1], 0x80 | 2);
  assertEquals(server().protocol.receiveData(bytes), ["Hi"]);
});

Deno.test("protocol: the message limit applies (1009)", () => {
  const { protocol } = new Recorded({ role: "server", maxMessageBytes: 4 });
  assertEquals(
    protocol.receiveData(
      concat(frame(Opcode.Text, "four"), frame(Opcode.Text, "fives")),
    ),
    ["four"],
  );
  assertEquals(protocol.failure?.closeCode, 1009);
});

Deno.test("protocol: a server's large binary payload goes out after its header, uncopied, and says so", () => {
  const payload = new Uint8Array(300_000).fill(9);
  const connection = server();
  assertEquals(connection.protocol.send(payload), true);
  const parts = connection.takeBytes();
  assertEquals(parts.length, 2);
  assertEquals(
    parts[0],
    new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 4, 0x93, 0xe0]),
  );
  assertEquals(parts[1] === payload, true);
  // A client must mask, so it copies.
  const masking = client();
  assertEquals(masking.protocol.send(payload), false);
  const masked = masking.takeBytes();
  assertEquals([masked.length, masked[0].length], [1, 14 + 300_000]);
  assertEquals(payload[0], 9);
});

Deno.test("protocol: a received binary message is bytes of its own, which an echo leaves as they were", () => {
  const connection = server();
  const chunk = frame(Opcode.Binary, new Uint8Array(1000).fill(5));
  const [message] = connection.protocol.receiveData(chunk);
  // The read buffer is reused for the next read: the message must not live in it.
  chunk.fill(0);
  assertEquals(message, new Uint8Array(1000).fill(5));
  connection.protocol.send(message);
  assertEquals(connection.take(), [{
    fin: true,
    rsv: 0,
    opcode: Opcode.Binary,
    payload: message,
  }]);
  const masking = client();
  masking.protocol.send(message);
  assertEquals(message, new Uint8Array(1000).fill(5));
});

/** The pong a peer sends back for the ping a connection just wrote: the same payload, masked. */
function pongTo(connection: Recorded): Uint8Array {
  const [ping] = connection.take();
  assertEquals(ping.opcode, Opcode.Ping);
  return frame(Opcode.Pong, ping.payload);
}

Deno.test("protocol: a keepalive ping, a control write, awaits the pong that echoes its payload", () => {
  const connection = server();
  const { protocol } = connection;
  assertEquals(protocol.awaitingPong, false);
  protocol.ping();
  assertEquals(connection.events, ["control"]);
  assertEquals(protocol.awaitingPong, true);
  const pong = pongTo(connection);
  // Unsolicited pongs, and one with another payload, do not answer it.
  protocol.receiveData(
    concat(frame(Opcode.Pong), frame(Opcode.Pong, [0, 0, 0, 2])),
  );
  assertEquals(protocol.awaitingPong, true);
  protocol.receiveData(pong);
  assertEquals(protocol.awaitingPong, false);
  assertEquals(protocol.state, "open");
});

Deno.test("protocol: a late pong for an earlier ping does not answer the latest", () => {
  const connection = server();
  const { protocol } = connection;
  protocol.ping();
  const first = pongTo(connection);
  protocol.ping();
  const second = pongTo(connection);
  protocol.receiveData(first);
  assertEquals(protocol.awaitingPong, true);
  // Split anywhere, the right pong is still recognised.
  for (const byte of bytewise(second)) protocol.receiveData(byte);
  assertEquals(protocol.awaitingPong, false);
});

Deno.test("protocol: a client's keepalive ping is masked; the server's pong answers it", () => {
  const masking = client();
  masking.protocol.ping();
  const [ping] = masking.takeBytes();
  assertEquals(ping[1] & 0x80, 0x80);
  const serverSide = server();
  serverSide.protocol.receiveData(ping);
  const [pong] = serverSide.takeBytes();
  masking.protocol.receiveData(pong);
  assertEquals(masking.protocol.awaitingPong, false);
});

Deno.test("protocol: no ping once this end's close frame is sent", () => {
  const { protocol } = server();
  protocol.close();
  assertThrows(() => protocol.ping(), ConnectionClosedError);
});

Deno.test("protocol: fail() drops what is queued, sends the failure's close as a control write, and closes TCP", () => {
  const connection = server();
  const { protocol } = connection;
  protocol.send("queued");
  const failure = new KeepaliveTimeoutError(100);
  protocol.fail(failure);
  assertEquals(connection.events, ["write", "drop", "control", "end close"]);
  const [, closeFrame] = connection.take();
  assertEquals(
    closeFrame.payload,
    closePayload(1011, "keepalive ping timeout"),
  );
  assertEquals([protocol.state, protocol.failure, protocol.closeOwed], [
    "closing",
    failure,
    false,
  ]);
  // Nothing more is read; a second failure sends nothing and keeps the first.
  assertEquals(protocol.receiveData(frame(Opcode.Text, "late")), []);
  protocol.fail(new SlowConsumerError(10, 5));
  assertEquals(connection.take(), []);
  protocol.receiveEof();
  assertEquals(protocol.closeInfo, {
    code: 1006,
    reason: "",
    wasClean: false,
    error: failure,
  });
});

Deno.test("protocol: fail() after this end's close records the failure and closes TCP without a second close", () => {
  const connection = server();
  connection.protocol.close(1000);
  const failure = new SlowConsumerError(10, 5);
  connection.protocol.fail(failure);
  assertEquals(connection.events, ["write", "drop", "end close"]);
  assertEquals(connection.protocol.failure, failure);
});

Deno.test("protocol: once the stream has ended, nothing more is written", () => {
  const connection = server();
  const { protocol } = connection;
  protocol.receiveEof();
  assertThrows(() => protocol.send("x"), ConnectionClosedError);
  assertThrows(() => protocol.close(), ConnectionClosedError);
  protocol.fail(new KeepaliveTimeoutError(1));
  assertEquals([connection.events, protocol.closeOwed], [[], false]);
});

Deno.test("protocol: dataReceived grows with data frames and their parts, not control frames", () => {
  const { protocol } = server();
  const count = (bytes: Uint8Array) => {
    const before = protocol.dataReceived;
    protocol.receiveData(bytes);
    return protocol.dataReceived - before;
  };
  assertEquals(
    count(concat(frame(Opcode.Ping, "p"), frame(Opcode.Pong, "q"))),
    0,
  );
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

Deno.test("protocol: the frame and fragment limits apply (1009, 1008)", () => {
  const frames = new Recorded({ role: "server", maxFrameBytes: 3 }).protocol;
  frames.receiveData(
    concat(frame(Opcode.Text, "abc"), frame(Opcode.Text, "abcd")),
  );
  assertEquals(frames.failure?.closeCode, 1009);
  const fragments = new Recorded({ role: "server", maxFragments: 1 }).protocol;
  assertEquals(fragments.receiveData(frame(Opcode.Text, "whole")), ["whole"]);
  fragments.receiveData(
    concat(
      frame(Opcode.Text, "a", { fin: false }),
      frame(Opcode.Continuation, "b"),
    ),
  );
  assertEquals(fragments.failure?.closeCode, 1008);
});

// permessage-deflate (RFC 7692): what a connection does with the extension.

const DEFLATE: DeflateCodecOptions = { ...TAKEOVER_CODEC, threshold: 16 };
/** RFC 7692 §7.2.3.1: "Hello", compressed. */
const HELLO = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const deflating = (maxMessageBytes?: number) =>
  new Recorded({
    role: "server",
    maxMessageBytes,
    extension: new DeflateCodec(DEFLATE),
  });

Deno.test("protocol: with permessage-deflate, a frame with RSV1 is inflated", () => {
  const { protocol } = deflating();
  assertEquals(protocol.receiveData(frame(Opcode.Text, HELLO, { rsv: RSV1 })), [
    "Hello",
  ]);
  // The window is kept: RFC 7692 §7.2.3.2's second "Hello" refers back to the first.
  const second = [0xf2, 0x00, 0x11, 0x00, 0x00];
  assertEquals(
    protocol.receiveData(frame(Opcode.Binary, second, { rsv: RSV1 })),
    [
      new TextEncoder().encode("Hello"),
    ],
  );
  // Uncompressed messages are still fine.
  assertEquals(protocol.receiveData(frame(Opcode.Text, "plain")), ["plain"]);
});

Deno.test("protocol: a compressed message in fragments, with a ping between, is inflated once whole", () => {
  const bytes = concat(
    frame(Opcode.Text, HELLO.slice(0, 3), { rsv: RSV1, fin: false }),
    frame(Opcode.Ping, "p"),
    frame(Opcode.Continuation, HELLO.slice(3)),
  );
  for (const chunks of [[bytes], bytewise(bytes)]) {
    const connection = deflating();
    assertEquals(
      chunks.flatMap((chunk) => connection.protocol.receiveData(chunk)),
      ["Hello"],
    );
    assertEquals(connection.take().map((f) => f.opcode), [Opcode.Pong]);
  }
});

const RSV1_MISUSE: [name: string, bytes: Uint8Array, deflate: boolean][] = [
  [
    "RSV1 without the extension",
    frame(Opcode.Text, HELLO, { rsv: RSV1 }),
    false,
  ],
  [
    "RSV1 on a continuation",
    concat(
      frame(Opcode.Text, HELLO.slice(0, 3), { rsv: RSV1, fin: false }),
      frame(Opcode.Continuation, HELLO.slice(3), { rsv: RSV1 }),
    ),
    true,
  ],
  ["RSV1 on a ping", frame(Opcode.Ping, "p", { rsv: RSV1 }), true],
  [
    "RSV1 on a close",
    frame(Opcode.Close, closePayload(1000), { rsv: RSV1 }),
    true,
  ],
  ["RSV2", frame(Opcode.Text, HELLO, { rsv: 2 }), true],
];

for (const [name, bytes, withDeflate] of RSV1_MISUSE) {
  Deno.test(`protocol: ${name} fails with 1002`, () => {
    const { protocol } = withDeflate ? deflating() : server();
    assertEquals(protocol.receiveData(bytes), []);
    assertEquals(protocol.failure?.closeCode, 1002);
  });
}

Deno.test("protocol: compressed text that inflates to invalid UTF-8 fails with 1007", () => {
  const { protocol } = deflating();
  const compressed = deflateRawSync(new Uint8Array([0x61, 0xff, 0x62]), {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  }).subarray(0, -4);
  assertEquals(
    protocol.receiveData(frame(Opcode.Text, compressed, { rsv: RSV1 })),
    [],
  );
  assertEquals(protocol.failure?.closeCode, 1007);
});

Deno.test("protocol: invalid compressed data fails with 1007", () => {
  const { protocol } = deflating();
  assertEquals(
    protocol.receiveData(frame(Opcode.Binary, [0xff, 0xff], { rsv: RSV1 })),
    [],
  );
  assertEquals(protocol.failure?.closeCode, 1007);
});

Deno.test("protocol: a message that inflates past maxMessageBytes fails with 1009", () => {
  const { protocol } = deflating(1000);
  // 1001 bytes that compress to a handful: only the inflated size is over the limit.
  const compressed = deflateRawSync(new Uint8Array(1001)).subarray(0);
  assertEquals(
    protocol.receiveData(frame(Opcode.Binary, compressed, { rsv: RSV1 })),
    [],
  );
  assertEquals(protocol.failure?.closeCode, 1009);
  const exact = deflating(1000).protocol;
  const fits = deflateRawSync(new Uint8Array(1000));
  assertEquals(
    (exact.receiveData(
      frame(Opcode.Binary, fits, { rsv: RSV1 }),
    )[0] as Uint8Array).length,
    1000,
  );
});

Deno.test("protocol: with permessage-deflate, messages from the threshold up go compressed", () => {
  const connection = deflating();
  const long = "Hello, hello, hello, hello!";
  connection.protocol.send("short");
  connection.protocol.send(long);
  connection.protocol.send(new TextEncoder().encode(long));
  const frames = connection.take();
  assertEquals(frames.map((f) => [f.opcode, f.rsv]), [
    [Opcode.Text, 0],
    [Opcode.Text, RSV1],
    [Opcode.Binary, RSV1],
  ]);
  assertEquals(new TextDecoder().decode(frames[0].payload), "short");
  const peer = new DeflateCodec(DEFLATE);
  assertEquals(
    new TextDecoder().decode(peer.decode([frames[1].payload], 1024)),
    long,
  );
  assertEquals(
    new TextDecoder().decode(peer.decode([frames[2].payload], 1024)),
    long,
  );
  peer.close();
});

Deno.test("protocol: a client's compressed frames are masked, and a server inflates them", () => {
  const masking = new Recorded({
    role: "client",
    extension: new DeflateCodec(DEFLATE),
  });
  const { protocol } = deflating();
  const long = "permessage-deflate ".repeat(20);
  for (let round = 0; round < 3; round++) {
    masking.protocol.send(long);
    const [bytes] = masking.takeBytes();
    assertEquals(bytes[0] & 0x70, RSV1 << 4);
    assertEquals(bytes[1] & 0x80, 0x80);
    assertEquals(protocol.receiveData(bytes), [long]);
  }
});

Deno.test("protocol: with permessage-deflate, a message under the threshold goes uncompressed", () => {
  const connection = new Recorded({
    role: "server",
    extension: new DeflateCodec({ ...DEFLATE, threshold: 2048 }),
  });
  const [received] = connection.protocol.receiveData(
    frame(Opcode.Binary, new Uint8Array(1000).fill(7)),
  );
  connection.protocol.send(received);
  assertEquals(connection.take(), [{
    fin: true,
    rsv: 0,
    opcode: Opcode.Binary,
    payload: received,
  }]);
});

Deno.test("protocol: the extension is closed once when the stream ends", () => {
  let closes = 0;
  const codec = new DeflateCodec(DEFLATE, () => closes++);
  const { protocol } = new Recorded({ role: "server", extension: codec });
  protocol.receiveEof();
  protocol.receiveEof();
  assert(closes === 1, `closed ${closes} times`);
});

Deno.test("protocol: a server frames a received binary message in place, in the room before it, whether it came in one read or several", () => {
  const bytes = frame(Opcode.Binary, new Uint8Array(60_000).fill(5));
  for (const reads of [[bytes], [bytes.subarray(0, 5000), bytes.subarray(5000)]]) {
    const connection = server();
    const [message] = reads.flatMap((read) => connection.protocol.receiveData(read.slice()));
    assertEquals(connection.protocol.send(message), true, "uncopied");
    const [echo] = connection.takeBytes();
    assertEquals(echo.buffer === (message as Uint8Array).buffer, true);
    assertEquals(echo.subarray(0, 4), new Uint8Array([0x82, 0x7e, 0xea, 0x60]));
    assertEquals(sent([echo])[0].payload, message);
  }
});

Deno.test("protocol: only a message the protocol made is framed in place: views and others' bytes are copied", () => {
  const connection = server();
  const [message] = connection.protocol.receiveData(frame(Opcode.Binary, [1, 2, 3, 4]));
  const view = (message as Uint8Array).subarray(1);
  const lookalike = new Uint8Array(new ArrayBuffer(14), 10, 4);
  for (const payload of [view, lookalike]) {
    assertEquals(connection.protocol.send(payload), false);
    assertEquals(connection.takeBytes()[0].buffer === payload.buffer, false);
  }
  // A client masks, so it copies, and its messages need no room.
  const masking = client();
  const [own] = masking.protocol.receiveData(new Uint8Array([0x82, 0x01, 7]));
  assertEquals([(own as Uint8Array).byteOffset, masking.protocol.send(own)], [0, false]);
});

Deno.test("protocol: a message in a chunk given to keep is a view into it, framed in place over its own header when sent back", () => {
  const connection = server();
  const chunk = frame(Opcode.Binary, new Uint8Array(1000).fill(3));
  const [message] = connection.protocol.receiveData(chunk, true) as Uint8Array[];
  assertEquals([message.buffer === chunk.buffer, message.byteOffset], [true, 8]);
  assertEquals(connection.protocol.send(message), true, "uncopied");
  const [echo] = connection.takeBytes();
  assertEquals([echo.buffer === chunk.buffer, echo.byteOffset], [true, 4]);
  assertEquals(sent([echo]), [{ fin: true, rsv: 0, opcode: Opcode.Binary, payload: message }]);
});

Deno.test("protocol: a small message in a large chunk given to keep is copied, not left holding the chunk", () => {
  const connection = server();
  const chunk = concat(frame(Opcode.Binary, [1, 2]), frame(Opcode.Binary, new Uint8Array(200)));
  const [small, large] = connection.protocol.receiveData(chunk, true) as Uint8Array[];
  assertEquals([small.buffer === chunk.buffer, large.buffer === chunk.buffer], [false, true]);
  // Both are sent back in place: the copy has room made for it.
  assertEquals([connection.protocol.send(small), connection.protocol.send(large)], [true, true]);
});

Deno.test("protocol: a frame whose header began in an earlier chunk is copied, even from a chunk given to keep, and still echoed in place", () => {
  const bytes = concat(
    frame(Opcode.Binary, [1, 2]),
    frame(Opcode.Binary, new Uint8Array(60).fill(9)),
  );
  for (let cut = 0; cut <= bytes.length; cut++) {
    const connection = server();
    const messages = [bytes.slice(0, cut), bytes.slice(cut)].flatMap((piece) =>
      connection.protocol.receiveData(piece, true)
    ) as Uint8Array[];
    assertEquals(messages.map((message) => message.length), [2, 60], `cut at ${cut}`);
    for (const message of messages) assertEquals(connection.protocol.send(message), true);
    assertEquals(sent(connection.takeBytes()).map((f) => f.payload), messages, `cut at ${cut}`);
  }
});
