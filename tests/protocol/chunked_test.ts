import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  ChunkedDecoder,
  type ChunkedDecoderOptions,
  encodeChunk,
  lastChunk,
} from "../../src/protocol/chunked.ts";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { bytewise, concat, splits } from "../helpers/frames.ts";
import { decodeAll } from "./body_helpers.ts";

const encoder = new TextEncoder();
/** Latin-1 bytes of `text`, one byte per code point, so "\xff" is the byte 0xff. */
const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
const NEXT = encoder.encode("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");

/** Every two-piece split of `bytes`, and `bytes` one byte at a time. */
function everySplit(bytes: Uint8Array): Uint8Array[][] {
  return [...splits(bytes), bytewise(bytes)];
}

const VALID: [string, string][] = [
  ["5\r\nhello\r\n0\r\n\r\n", "hello"],
  ["0\r\n\r\n", ""],
  ["000\r\n\r\n", ""],
  ["5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", "hello, world"],
  ["A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"],
  ["0005\r\nhello\r\n0\r\n\r\n", "hello"],
  ["5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"],
  ['5 ; a = b ;\tq="quoted \\" ; \xe9"\r\nhello\r\n0\r\n\r\n', "hello"],
  ["5;a;b;c=d\r\nhello\r\n0\r\n\r\n", "hello"],
  ["5\r\nhello\r\n0\r\nChecksum: abc\r\nX-B:  c \r\n\r\n", "hello"],
  ["5\r\n\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r\n\r"],
  ["3\r\n0\r\n\r\n0\r\n\r\n", "0\r\n"],
];

for (const [text, body] of VALID) {
  Deno.test(`chunked decoder: decodes ${JSON.stringify(text)} at every split, keeping what follows`, () => {
    const bytes = concat(latin1(text), NEXT);
    for (const pieces of everySplit(bytes)) {
      const decoded = decodeAll(new ChunkedDecoder(), pieces);
      assertEquals(decoded, { body: latin1(body), done: true, rest: NEXT });
    }
  });
}

Deno.test("chunked decoder: a body that stops short is not done, and says how much came", () => {
  const bytes = latin1("5\r\nhello\r\n3\r\nab");
  for (const pieces of everySplit(bytes)) {
    const decoder = new ChunkedDecoder();
    const decoded = decodeAll(decoder, pieces);
    assertEquals([decoded.done, decoder.received], [false, 7]);
  }
});

Deno.test("chunked decoder: a chunk's data comes as a view of the read, and pushes after the end are rest", () => {
  const read = latin1("xx5\r\nhello\r\n0\r\n\r\nGET").subarray(2);
  const decoder = new ChunkedDecoder();
  const { data, done, rest } = decoder.push(read);
  assertEquals([data.length, data[0].byteOffset, done, rest.byteOffset], [
    1,
    5,
    true,
    17,
  ]);
  const later = latin1("more");
  assertEquals(decoder.push(later), { data: [], done: true, rest: later });
});

// Every malformed case, with the exact status and message; each is thrown at every split.
const MALFORMED = "malformed chunked body: ";
const REFUSED: [string, number, string, ChunkedDecoderOptions?][] = [
  [
    "-5\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size without hex digits",
  ],
  [
    "+5\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size without hex digits",
  ],
  [
    " 5\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size without hex digits",
  ],
  ["\r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "chunk size without hex digits"],
  [
    ";a\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size without hex digits",
  ],
  ["g\r\n", 400, MALFORMED + "chunk size without hex digits"],
  [
    "0x5\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size followed by something but extensions",
  ],
  [
    "5-\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size followed by something but extensions",
  ],
  [
    "5\x00\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk size followed by something but extensions",
  ],
  ["5 \r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "malformed chunk extension"],
  ["5 5\r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "malformed chunk extension"],
  ["5;\r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "malformed chunk extension"],
  ["5;a=\r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "malformed chunk extension"],
  ["5;a b\r\nhello\r\n0\r\n\r\n", 400, MALFORMED + "malformed chunk extension"],
  [
    '5;a="open\r\nhello\r\n0\r\n\r\n',
    400,
    MALFORMED + "malformed chunk extension",
  ],
  [
    '5;a="\x7f"\r\nhello\r\n0\r\n\r\n',
    400,
    MALFORMED + "malformed chunk extension",
  ],
  [
    "5;a=b\x00\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "malformed chunk extension",
  ],
  [
    "5;a=b,c\r\nhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "malformed chunk extension",
  ],
  ["5\nhello\r\n0\r\n\r\n", 400, MALFORMED + "bare LF in a chunk size line"],
  ["5;a\nhello\r\n0\r\n\r\n", 400, MALFORMED + "bare LF in a chunk size line"],
  ["5\rhello\r\n0\r\n\r\n", 400, MALFORMED + "bare CR in a chunk size line"],
  [
    "5;a\r\rhello\r\n0\r\n\r\n",
    400,
    MALFORMED + "bare CR in a chunk size line",
  ],
  [
    "5\r\nhelloX\r\n0\r\n\r\n",
    400,
    MALFORMED + "chunk data not followed by CRLF",
  ],
  ["5\r\nhello\n0\r\n\r\n", 400, MALFORMED + "chunk data not followed by CRLF"],
  ["5\r\nhello\r0\r\n\r\n", 400, MALFORMED + "chunk data not followed by CRLF"],
  ["5\r\nhello0\r\n\r\n", 400, MALFORMED + "chunk data not followed by CRLF"],
  ["0\r\n\n", 400, MALFORMED + "bare LF in the trailer section"],
  ["0\r\nA: b\n\r\n", 400, MALFORMED + "bare LF in the trailer section"],
  ["0\r\n\rX", 400, MALFORMED + "bare CR in the trailer section"],
  [
    "0\r\nA: b\rC: d\r\n\r\n",
    400,
    MALFORMED + "bare CR in the trailer section",
  ],
  ["0\r\nA : b\r\n\r\n", 400, MALFORMED + 'malformed trailer field "A : b"'],
  [
    "0\r\n folded\r\n\r\n",
    400,
    MALFORMED + 'malformed trailer field " folded"',
  ],
  [
    "0\r\nNo colon\r\n\r\n",
    400,
    MALFORMED + 'malformed trailer field "No colon"',
  ],
  ["0\r\n: b\r\n\r\n", 400, MALFORMED + 'malformed trailer field ": b"'],
  [
    "0\r\nA: b\x00c\r\n\r\n",
    400,
    MALFORMED + 'malformed trailer field "A: b\\u0000c"',
  ],
  [
    "00000000000000001\r\nx\r\n",
    400,
    MALFORMED + "chunk size of more than 16 digits",
  ],
  ["20000000000000\r\n", 400, MALFORMED + "chunk size too large", {
    maxBodyBytes: Infinity,
  }],
  ["ffffffffffffffff\r\n", 400, MALFORMED + "chunk size too large", {
    maxBodyBytes: Infinity,
  }],
  ["b\r\nhello world\r\n0\r\n\r\n", 413, "the body is larger than 10 bytes", {
    maxBodyBytes: 10,
  }],
  [
    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    413,
    "the body is larger than 10 bytes",
    {
      maxBodyBytes: 10,
    },
  ],
  ["20000000\r\n", 413, `the body is larger than ${64 * 1024 * 1024} bytes`],
  [
    "1;abcdefgh\r\nx\r\n0\r\n\r\n",
    413,
    "more than 8 bytes of chunk extensions",
    {
      maxChunkExtensionBytes: 8,
    },
  ],
  [
    "1;abcd\r\nx\r\n1;abcd\r\ny\r\n0\r\n\r\n",
    413,
    "more than 8 bytes of chunk extensions",
    {
      maxChunkExtensionBytes: 8,
    },
  ],
  ["0\r\nA: 1\r\nB: 2\r\n\r\n", 431, "more than 1 trailer fields", {
    maxTrailerCount: 1,
  }],
  ["0\r\nA: 1\r\nB: 2\r\n\r\n", 431, "trailer section of more than 11 bytes", {
    maxTrailerBytes: 11,
  }],
];

for (const [text, status, message, options] of REFUSED) {
  Deno.test(`chunked decoder: answers ${JSON.stringify(text)} with ${status}, at every split`, () => {
    for (const pieces of everySplit(latin1(text))) {
      const error = assertThrows(() => decodeAll(new ChunkedDecoder(options), pieces));
      assertInstanceOf(error, HandshakeError);
      assertEquals([error.status, error.message], [status, message]);
    }
  });
}

Deno.test("chunked decoder: a body, extensions and trailers exactly at their limits are fine", () => {
  const text = "5;abc\r\nhello\r\n5;de\r\nworld\r\n0\r\nA: 1\r\nB: 2\r\n\r\n";
  const options = {
    maxBodyBytes: 10,
    maxChunkExtensionBytes: 7,
    maxTrailerBytes: 12,
    maxTrailerCount: 2,
  };
  for (const pieces of everySplit(latin1(text))) {
    const decoded = decodeAll(new ChunkedDecoder(options), pieces);
    assertEquals(decoded, {
      body: latin1("helloworld"),
      done: true,
      rest: new Uint8Array(),
    });
  }
  // The blank line that ends the body is not a trailer: no trailers are allowed with a limit of 0.
  const none = { maxTrailerBytes: 0, maxTrailerCount: 0 };
  assertEquals(
    decodeAll(new ChunkedDecoder(none), [latin1("0\r\n\r\n")]).done,
    true,
  );
});

Deno.test("chunked encoder: a chunk is its size in hex, the data itself and CRLF", () => {
  for (const length of [1, 9, 10, 15, 16, 255, 256, 4096, 65536]) {
    const data = new Uint8Array(length).fill(0x61);
    const parts = encodeChunk(data);
    assertEquals(parts.length, 3);
    assertEquals(parts[0], encoder.encode(`${length.toString(16)}\r\n`));
    assertEquals([parts[1] === data, parts[2]], [true, encoder.encode("\r\n")]);
  }
  assertEquals(encodeChunk(new Uint8Array()), []);
  assertEquals(lastChunk(), encoder.encode("0\r\n\r\n"));
});

Deno.test("chunked encoder: what it writes, the decoder reads back, at every split", () => {
  const pieces = ["hello", "", ", ", "x".repeat(300)].map((text) => encoder.encode(text));
  const wire = concat(...pieces.flatMap(encodeChunk), lastChunk());
  assertEquals(
    new TextDecoder().decode(wire.subarray(0, 20)),
    "5\r\nhello\r\n2\r\n, \r\n12c",
  );
  for (const split of splits(wire)) {
    const decoded = decodeAll(new ChunkedDecoder(), split);
    assertEquals(decoded, {
      body: concat(...pieces),
      done: true,
      rest: new Uint8Array(),
    });
  }
});
