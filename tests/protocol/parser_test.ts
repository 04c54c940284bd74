import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { encodeFrame, type Frame, Opcode } from "../../src/protocol/frame.ts";
import { FrameParser, type FrameParserOptions } from "../../src/protocol/parser.ts";
import { FrameParserStream } from "../../src/protocol/parser_stream.ts";
import { bytewise, concat, FIXED_MASK, frame, splits } from "../helpers/frames.ts";

const SERVER: FrameParserOptions = { role: "server" };
const CLIENT: FrameParserOptions = { role: "client" };
const text = (value: string) => new TextEncoder().encode(value);

/** The frame without whether it borrows its payload, which a test of its own pins. */
function owned({ fin, rsv, opcode, payload }: Frame): Frame {
  return { fin, rsv, opcode, payload };
}

/** Parses `chunks` (copies, as the parser unmasks in place) and returns every frame. */
function parse(options: FrameParserOptions, chunks: Uint8Array[]): Frame[] {
  const parser = new FrameParser(options);
  const frames: Frame[] = [];
  for (const chunk of chunks) parser.push(chunk.slice(), (f) => frames.push(owned(f)));
  assertEquals(parser.midFrame, false);
  return frames;
}

function fin(opcode: Opcode, payload: Uint8Array, finBit = true): Frame {
  return { fin: finBit, rsv: 0, opcode, payload };
}

const bytes256 = Uint8Array.from({ length: 256 }, (_, i) => i);
const bytes64k = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff);

// RFC 6455 §5.7, verbatim.
const EXAMPLES: {
  name: string;
  options: FrameParserOptions;
  bytes: Uint8Array;
  frames: Frame[];
}[] = [
  {
    name: "a single-frame unmasked text message",
    options: CLIENT,
    bytes: new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
    frames: [fin(Opcode.Text, text("Hello"))],
  },
  {
    name: "a single-frame masked text message",
    options: SERVER,
    bytes: new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
    frames: [fin(Opcode.Text, text("Hello"))],
  },
  {
    name: "a fragmented unmasked text message",
    options: CLIENT,
    bytes: new Uint8Array([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]),
    frames: [fin(Opcode.Text, text("Hel"), false), fin(Opcode.Continuation, text("lo"))],
  },
  {
    name: "an unmasked ping",
    options: CLIENT,
    bytes: new Uint8Array([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
    frames: [fin(Opcode.Ping, text("Hello"))],
  },
  {
    name: "a masked pong",
    options: SERVER,
    bytes: new Uint8Array([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]),
    frames: [fin(Opcode.Pong, text("Hello"))],
  },
  {
    name: "a 256-byte binary message",
    options: CLIENT,
    bytes: concat(new Uint8Array([0x82, 0x7e, 0x01, 0x00]), bytes256),
    frames: [fin(Opcode.Binary, bytes256)],
  },
  {
    name: "a 64 KiB binary message",
    options: CLIENT,
    bytes: concat(new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]), bytes64k),
    frames: [fin(Opcode.Binary, bytes64k)],
  },
];

for (const example of EXAMPLES) {
  Deno.test(`parser: decodes RFC 6455 §5.7 ${example.name} from every two-piece split`, () => {
    // The 64 KiB frame is cut at every point of its header and a sample of its payload.
    const cuts = [...splits(example.bytes)].filter(([head]) =>
      head.length < 16 || head.length % 997 === 0 || head.length > example.bytes.length - 16
    );
    for (const pieces of cuts) assertEquals(parse(example.options, pieces), example.frames);
  });

  if (example.bytes.length < 1000) {
    Deno.test(`parser: decodes RFC 6455 §5.7 ${example.name} fed one byte at a time`, () => {
      assertEquals(parse(example.options, bytewise(example.bytes)), example.frames);
    });
  }
}

Deno.test("parser: decodes every frame of a chunk in one push, in order", () => {
  const clientExamples = EXAMPLES.filter((example) => example.options === CLIENT);
  const all = concat(...clientExamples.map((example) => example.bytes));
  assertEquals(parse(CLIENT, [all]), clientExamples.flatMap((example) => example.frames));
});

Deno.test("parser: decodes many frames with pieces cut across their boundaries", () => {
  const payloads = Array.from({ length: 50 }, (_, i) => text("m".repeat(i * 3)));
  const all = concat(...payloads.map((payload) => frame(Opcode.Binary, payload)));
  const pieces: Uint8Array[] = [];
  for (let offset = 0, size = 1; offset < all.length; offset += size, size = (size * 5) % 37 + 1) {
    pieces.push(all.subarray(offset, offset + size));
  }
  assertEquals(parse(SERVER, pieces), payloads.map((payload) => fin(Opcode.Binary, payload)));
});

for (const length of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
  Deno.test(`parser: round-trips a masked ${length}-byte frame with the shortest length field`, () => {
    const payload = Uint8Array.from({ length }, (_, i) => (i * 31) & 0xff);
    const bytes = encodeFrame(Opcode.Binary, payload, { mask: FIXED_MASK });
    const field = length < 126 ? length : length < 65536 ? 126 : 127;
    assertEquals(bytes[1], 0x80 | field);
    assertEquals(bytes.length, 2 + (field === 126 ? 2 : field === 127 ? 8 : 0) + 4 + length);
    assertEquals(bytes, frame(Opcode.Binary, payload));
    assertEquals(parse(SERVER, [bytes]), [fin(Opcode.Binary, payload)]);
    assertEquals(parse(SERVER, [bytes.subarray(0, 7), bytes.subarray(7)]), [
      fin(Opcode.Binary, payload),
    ]);
  });
}

Deno.test("parser: keeps the RSV bits an extension claims", () => {
  const parser = new FrameParser({ role: "server", allowedRsv: 0b100 });
  const frames: Frame[] = [];
  parser.push(frame(Opcode.Text, "x", { rsv: 0b100 }), (f) => frames.push(owned(f)));
  assertEquals(frames, [{ fin: true, rsv: 0b100, opcode: Opcode.Text, payload: text("x") }]);
});

/** Pushes `chunks` into a server parser and returns the close code of the error it throws. */
function violation(chunks: Uint8Array[], options: FrameParserOptions = SERVER): number {
  const parser = new FrameParser(options);
  const error = assertThrows(() => {
    for (const chunk of chunks) parser.push(chunk, () => {});
  });
  assertInstanceOf(error, ProtocolError);
  return error.closeCode;
}

const VIOLATIONS: {
  name: string;
  bytes: Uint8Array;
  code: number;
  options?: FrameParserOptions;
}[] = [
  { name: "an unmasked client frame", bytes: frame(Opcode.Text, "hi", { mask: null }), code: 1002 },
  {
    name: "a masked server frame (client role)",
    bytes: frame(Opcode.Text, "hi"),
    code: 1002,
    options: CLIENT,
  },
  { name: "RSV1 with no extension", bytes: frame(Opcode.Text, "hi", { rsv: 4 }), code: 1002 },
  { name: "RSV2", bytes: frame(Opcode.Text, "hi", { rsv: 2 }), code: 1002 },
  { name: "RSV3", bytes: frame(Opcode.Text, "hi", { rsv: 1 }), code: 1002 },
  {
    name: "RSV2 when only RSV1 is claimed",
    bytes: frame(Opcode.Text, "hi", { rsv: 2 }),
    code: 1002,
    options: { role: "server", allowedRsv: 4 },
  },
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
    name: `reserved opcode ${opcode}`,
    bytes: frame(opcode, "hi"),
    code: 1002,
  })),
  { name: "a fragmented ping", bytes: frame(Opcode.Ping, "hi", { fin: false }), code: 1002 },
  { name: "a fragmented close", bytes: frame(Opcode.Close, [3, 232], { fin: false }), code: 1002 },
  { name: "a 126-byte ping", bytes: frame(Opcode.Ping, new Uint8Array(126)), code: 1002 },
  {
    name: "a 125-byte pong with a 16-bit length field",
    bytes: frame(Opcode.Pong, new Uint8Array(125), { lengthField: 126 }),
    code: 1002,
  },
  {
    name: "a 64-bit length with its top bit set",
    bytes: frame(Opcode.Binary, "", { declaredLength: 1n << 63n }).subarray(0, 14),
    code: 1002,
  },
  {
    name: "a frame over the message limit, before its payload",
    bytes: frame(Opcode.Binary, "", { declaredLength: 1001n }).subarray(0, 8),
    code: 1009,
    options: { role: "server", maxMessageBytes: 1000 },
  },
  {
    name: "fragments that together exceed the message limit",
    bytes: concat(
      frame(Opcode.Binary, new Uint8Array(600), { fin: false }),
      frame(Opcode.Continuation, "", { declaredLength: 401n }).subarray(0, 8),
    ),
    code: 1009,
    options: { role: "server", maxMessageBytes: 1000 },
  },
];

for (const { name, bytes, code, options } of VIOLATIONS) {
  Deno.test(`parser: rejects ${name} with ${code}, however the bytes are split`, () => {
    for (const pieces of splits(bytes)) assertEquals(violation(pieces, options), code);
    assertEquals(violation(bytewise(bytes), options), code);
  });
}

Deno.test("parser: a 64 MiB limit is the default", () => {
  const header = (length: bigint) =>
    frame(Opcode.Binary, "", { declaredLength: length }).subarray(0, 14);
  assertEquals(violation([header(64n * 1024n * 1024n + 1n)]), 1009);
  const parser = new FrameParser(SERVER);
  parser.push(header(64n * 1024n * 1024n), () => {});
  assertEquals(parser.midFrame, true);
});

/** Frames of a binary message in `count` fragments of `size` bytes each. */
function fragmentedMessage(count: number, size = 1): Uint8Array {
  return concat(
    ...Array.from(
      { length: count },
      (_, i) =>
        frame(i === 0 ? Opcode.Binary : Opcode.Continuation, new Uint8Array(size), {
          fin: i === count - 1,
        }),
    ),
  );
}

Deno.test("parser: a frame at maxFrameBytes passes, one byte more fails with 1009 from its header", () => {
  const options: FrameParserOptions = { role: "server", maxFrameBytes: 100 };
  assertEquals(parse(options, [frame(Opcode.Binary, new Uint8Array(100))]).length, 1);
  const over = frame(Opcode.Binary, "", { declaredLength: 101n }).subarray(0, 8);
  for (const pieces of splits(over)) assertEquals(violation(pieces, options), 1009);
  // Each fragment is held to it, not the message: three of 100 bytes pass.
  assertEquals(parse(options, [fragmentedMessage(3, 100)]).length, 3);
});

Deno.test("parser: control frames are held to 125 bytes, not to maxFrameBytes", () => {
  const options: FrameParserOptions = { role: "server", maxFrameBytes: 10 };
  assertEquals(parse(options, [frame(Opcode.Ping, new Uint8Array(125))]).length, 1);
});

Deno.test("parser: a message in maxFragments frames passes, one more fails with 1008 from its header", () => {
  const options: FrameParserOptions = { role: "server", maxFragments: 4 };
  assertEquals(parse(options, [fragmentedMessage(4)]).length, 4);
  // The count starts again with each message, and control frames between fragments do not count.
  const withPing = concat(
    frame(Opcode.Binary, "a", { fin: false }),
    frame(Opcode.Ping, "p"),
    frame(Opcode.Continuation, "b", { fin: false }),
    frame(Opcode.Continuation, "c", { fin: false }),
    frame(Opcode.Continuation, "d"),
  );
  assertEquals(parse(options, [fragmentedMessage(4), withPing]).length, 9);
  const fifth = fragmentedMessage(5);
  // Without the fifth frame's payload byte: the header is enough to fail on.
  for (const pieces of splits(fifth.subarray(0, fifth.length - 1))) {
    assertEquals(violation(pieces, options), 1008);
  }
});

Deno.test("parser: 65536 fragments are the default limit", () => {
  assertEquals(parse(SERVER, [fragmentedMessage(65_536)]).length, 65_536);
  assertEquals(violation([fragmentedMessage(65_537)]), 1008);
  assertEquals(
    parse({ role: "server", maxFragments: Infinity }, [fragmentedMessage(70_000)]).length,
    70_000,
  );
});

Deno.test("parser: fails on a bad header byte before the rest of the header arrives", () => {
  const parser = new FrameParser(SERVER);
  // RSV2 and a 64-bit length field: the error comes with the first two bytes.
  assertThrows(() => parser.push(new Uint8Array([0xa2, 0xff]), () => {}), ProtocolError);
});

Deno.test("parser: hands over the frames before a violation, then throws", () => {
  const parser = new FrameParser(SERVER);
  const frames: Frame[] = [];
  const bytes = concat(frame(Opcode.Text, "ok"), frame(Opcode.Text, "bad", { mask: null }));
  assertThrows(() => parser.push(bytes, (f) => frames.push(owned(f))), ProtocolError, "unmasked");
  assertEquals(frames, [fin(Opcode.Text, text("ok"))]);
});

Deno.test("parser: shows the unmasked payload of a frame still arriving", () => {
  const parser = new FrameParser(SERVER);
  const bytes = frame(Opcode.Text, "Hello, world");
  parser.push(bytes.slice(0, 11), () => {});
  assertEquals(parser.partialFrame?.opcode, Opcode.Text);
  assertEquals(parser.partialFrame?.payloadSoFar, text("Hello"));
  parser.push(bytes.slice(11), () => {});
  assertEquals(parser.partialFrame, null);
});

async function streamFrames(options: FrameParserOptions, chunks: Uint8Array[]): Promise<Frame[]> {
  const frames = await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new FrameParserStream(options)),
  );
  return frames.map(owned);
}

Deno.test("FrameParserStream: decodes frames from a byte stream split anywhere", async () => {
  const bytes = concat(...EXAMPLES.filter((e) => e.options === CLIENT).map((e) => e.bytes));
  const expected = EXAMPLES.filter((e) => e.options === CLIENT).flatMap((e) => e.frames);
  for (const cut of [1, 3, 70, 300, bytes.length - 1]) {
    assertEquals(await streamFrames(CLIENT, [bytes.slice(0, cut), bytes.slice(cut)]), expected);
  }
});

Deno.test("FrameParserStream: errors with the parser's ProtocolError", async () => {
  const error = await assertRejects(
    () => streamFrames(SERVER, [frame(Opcode.Text, "x", { rsv: 2 })]),
    ProtocolError,
  );
  assertEquals(error.closeCode, 1002);
});

Deno.test("FrameParserStream: errors with 1006 when the bytes end inside a frame", async () => {
  const error = await assertRejects(
    () => streamFrames(SERVER, [frame(Opcode.Text, "Hello").subarray(0, 8)]),
    ProtocolError,
  );
  assertEquals(error.closeCode, 1006);
});

Deno.test("parser: a declared length alone reserves only the first buffer, which then grows", () => {
  const parser = new FrameParser(SERVER);
  const payload = Uint8Array.from({ length: 300_000 }, (_, i) => i & 0xff);
  const bytes = frame(Opcode.Binary, payload);
  parser.push(bytes.slice(0, 20), () => {});
  assert(
    (parser.partialFrame?.payloadSoFar.buffer.byteLength ?? Infinity) <= 64 * 1024,
  );
  const frames: Frame[] = [];
  for (let offset = 20; offset < bytes.length; offset += 7000) {
    parser.push(bytes.slice(offset, offset + 7000), (f) => frames.push(owned(f)));
  }
  assertEquals(frames, [fin(Opcode.Binary, payload)]);
  assertEquals(frames[0].payload.buffer.byteLength, payload.length);
});

Deno.test("parser: a frame a quarter of which is in takes a buffer of its exact length at once", () => {
  const parser = new FrameParser(SERVER);
  const payload = Uint8Array.from({ length: 300_000 }, (_, i) => i & 0xff);
  const bytes = frame(Opcode.Binary, payload);
  parser.push(bytes.slice(0, 75_014), () => {});
  const buffer = parser.partialFrame?.payloadSoFar.buffer;
  assertEquals(buffer?.byteLength, payload.length);
  const frames: Frame[] = [];
  parser.push(bytes.slice(75_014), (f) => frames.push(owned(f)));
  assertEquals(frames, [fin(Opcode.Binary, payload)]);
  assert(frames[0].payload.buffer === buffer, "the payload was not copied again");
});

Deno.test("parser: a frame inside one chunk borrows its payload from it; one that spans chunks owns its own", () => {
  const bytes = concat(frame(Opcode.Binary, [1, 2, 3]), frame(Opcode.Binary, [4, 5, 6]));
  const cut = bytes.length - 2;
  for (let split = 0; split <= bytes.length; split++) {
    const parser = new FrameParser(SERVER);
    const frames: Frame[] = [];
    const first = bytes.slice(0, split);
    const second = bytes.slice(split);
    parser.push(first, (f) => frames.push(f));
    parser.push(second, (f) => frames.push(f));
    assertEquals(frames.map((f) => [...f.payload]), [[1, 2, 3], [4, 5, 6]], `split at ${split}`);
    for (const f of frames) {
      const inFirst = f.payload.buffer === first.buffer;
      const inSecond = f.payload.buffer === second.buffer;
      assertEquals(f.borrowed, inFirst || inSecond, `split at ${split}`);
    }
    if (split === cut) assertEquals(frames[1].borrowed, false);
  }
});
