import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { HandshakeError, UpgradeFailedError } from "../../src/protocol/errors.ts";
import {
  type HeadParser,
  type ParsedHead,
  parseRequestHead,
  parseResponseHead,
  RequestHeadParser,
  ResponseHeadParser,
} from "../../src/protocol/http1.ts";
import { bytewise, concat, splits } from "../helpers/frames.ts";

const encoder = new TextEncoder();
const REQUEST = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8000\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nX-Two: a\r\nx-two: b\r\n\r\n";
const FIRST_FRAME = new Uint8Array([0x81, 0x80, 1, 2, 3, 4]);

/** Feeds pieces until the head is complete; the pieces after it join `rest`, as a reader does. */
function feedTo<Head>(
  parser: HeadParser<Head>,
  pieces: Uint8Array[],
): ParsedHead<Head> {
  for (const [index, piece] of pieces.entries()) {
    const parsed = parser.push(piece);
    if (parsed) {
      const rest = concat(parsed.rest, ...pieces.slice(index + 1));
      return { head: parsed.head, rest, bytes: parsed.bytes.slice() };
    }
  }
  throw new Error("head not complete");
}

function feed(
  pieces: Uint8Array[],
  maxHeaderBytes?: number,
  maxHeaderCount?: number,
) {
  return feedTo(
    new RequestHeadParser({ maxHeaderBytes, maxHeaderCount }),
    pieces,
  );
}

function feedResponse(
  pieces: Uint8Array[],
  maxHeaderBytes?: number,
  maxHeaderCount?: number,
) {
  return feedTo(
    new ResponseHeadParser({ maxHeaderBytes, maxHeaderCount }),
    pieces,
  );
}

/** A head of `start` and `count` header fields (Host first), then the first frame's bytes. */
function withFields(
  start: string,
  count: number,
  lineEnd = "\r\n",
): Uint8Array {
  const lines = [
    start,
    "Host: a",
    ...Array.from({ length: count - 1 }, (_, i) => `X-${i}: ${i}`),
  ];
  return concat(
    encoder.encode(lines.join(lineEnd) + lineEnd + lineEnd),
    FIRST_FRAME,
  );
}

Deno.test("http1: parses a request head from every split, keeping the bytes after it", () => {
  const bytes = concat(encoder.encode(REQUEST), FIRST_FRAME);
  for (const pieces of [...splits(bytes), bytewise(bytes)]) {
    const { head, rest } = feed(pieces);
    assertEquals(head.method, "GET");
    assertEquals(head.target, "/chat?room=1");
    assertEquals(head.version, "HTTP/1.1");
    assertEquals(head.headers.get("HOST"), "example.com:8000");
    assertEquals(head.headers.get("x-two"), "a, b");
    assertEquals(rest, FIRST_FRAME);
  }
});

Deno.test("http1: trims optional whitespace around a field value", () => {
  const head = parseRequestHead(
    encoder.encode(
      "GET / HTTP/1.1\r\nHost:  a \t\r\nUpgrade:websocket\r\nX-Empty:\r\n\r\n",
    ),
  );
  assertEquals(head.headers.get("host"), "a");
  assertEquals(head.headers.get("upgrade"), "websocket");
  assertEquals(head.headers.get("x-empty"), "");
});

Deno.test("http1: accepts every request target form and keeps the target as sent", () => {
  const targets = [
    "/",
    "/a/b?c=d&e=%20|{}^",
    "http://h/x?y",
    "example.com:443",
    "[::1]:443",
    "*",
  ];
  for (const target of targets) {
    const head = parseRequestHead(
      encoder.encode(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`),
    );
    assertEquals(head.target, target);
  }
});

// RFC 9112 §2.2: a bare LF or bare CR, read one way here and another by a proxy in front, splits
// one request into two (request smuggling). Each of these heads ends where the parser sees a
// blank line, so each reaches the line check.
const BARE_LINE_ENDS = [
  "GET / HTTP/1.1\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\n",
  "GET / HTTP/1.1\nHost: a\n\n",
  "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\rX-Smuggled: b\r\n\r\n",
  "GET / HTTP/1.1\r\nX-A: b\r\n\rX-B: c\r\n\r\n",
  "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
  "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\nTransfer-Encoding: chunked\r\n\r\n",
];

for (const request of BARE_LINE_ENDS) {
  Deno.test(`http1: answers a bare CR or LF in ${JSON.stringify(request)} with 400, at every split`, () => {
    const bytes = encoder.encode(request);
    for (const pieces of [...splits(bytes), bytewise(bytes)]) {
      const error = assertThrows(() => feed(pieces));
      assertInstanceOf(error, HandshakeError);
      assertEquals([error.status, error.message], [
        400,
        "bare CR or LF in the request head",
      ]);
    }
  });
}

Deno.test("http1: a response head may still end its lines with a bare LF", () => {
  const head = parseResponseHead(
    encoder.encode("HTTP/1.1 101 OK\nUpgrade:  websocket \n\n"),
  );
  assertEquals([head.status, head.headers.get("upgrade")], [101, "websocket"]);
  const atLimit = withFields("HTTP/1.1 101 Switching Protocols", 100, "\n");
  assertEquals(feedResponse(bytewise(atLimit)).rest, FIRST_FRAME);
  const error = assertThrows(() => feedResponse([withFields("HTTP/1.1 101 OK", 101, "\n")]));
  assertInstanceOf(error, UpgradeFailedError);
  assertEquals(
    error.message,
    "the response head has more than 100 header fields",
  );
});

Deno.test("http1: answers a head over the limit with 431, however it arrives", () => {
  const big = encoder.encode(
    `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"x".repeat(2000)}\r\n\r\n`,
  );
  for (const pieces of [[big], bytewise(big)]) {
    const error = assertThrows(() => feed(pieces, 1024));
    assertInstanceOf(error, HandshakeError);
    assertEquals(error.status, 431);
  }
  // Exactly at the limit is fine.
  assertEquals(feed([big], big.length).head.headers.get("x-big")?.length, 2000);
});

Deno.test("http1: 100 header fields are fine and 101 get 431, at every split and byte by byte", () => {
  const atLimit = withFields("GET / HTTP/1.1", 100);
  for (const pieces of [...splits(atLimit), bytewise(atLimit)]) {
    const { head, rest } = feed(pieces);
    assertEquals([head.headers.get("host"), head.headers.get("x-98")], [
      "a",
      "98",
    ]);
    assertEquals(rest, FIRST_FRAME);
  }
  const overLimit = withFields("GET / HTTP/1.1", 101);
  for (const pieces of [...splits(overLimit), bytewise(overLimit)]) {
    const error = assertThrows(() => feed(pieces));
    assertInstanceOf(error, HandshakeError);
    assertEquals([error.status, error.message], [
      431,
      "request head with more than 100 header fields",
    ]);
  }
});

Deno.test("http1: a flood of header fields is refused once one too many has ended, before the head does", () => {
  const parser = new RequestHeadParser({ maxHeaderCount: 3 });
  const lines = ["GET / HTTP/1.1\r\n", "A: 1\r\n", "B: 2\r\n", "C: 3\r\n"];
  for (const line of lines) {
    assertEquals(parser.push(encoder.encode(line)), null);
  }
  // A fourth field with no line end yet could still be the last line: only its end counts.
  assertEquals(parser.push(encoder.encode("D: 4\r")), null);
  const error = assertThrows(() => parser.push(encoder.encode("\n")));
  assertInstanceOf(error, HandshakeError);
  assertEquals([error.status, error.message], [
    431,
    "request head with more than 3 header fields",
  ]);
});

Deno.test("http1: maxHeaderCount sets the limit; over it a response fails the upgrade", () => {
  const request = withFields("GET / HTTP/1.1", 5);
  assertEquals(
    [...feed([request], undefined, 5).head.headers.keys()].length,
    5,
  );
  const error = assertThrows(() => feed([request], undefined, 4));
  assertInstanceOf(error, HandshakeError);
  assertEquals(error.status, 431);
  const response = withFields("HTTP/1.1 101 Switching Protocols", 101);
  for (const pieces of [[response], bytewise(response)]) {
    const failure = assertThrows(() => feedResponse(pieces));
    assertInstanceOf(failure, UpgradeFailedError);
    assertEquals(
      [failure.status, failure.message],
      [null, "the response head has more than 100 header fields"],
    );
  }
  assertEquals(
    [...feedResponse([response], undefined, 101).head.headers.keys()].length,
    101,
  );
});

const MALFORMED = [
  "GARBAGE\r\n\r\n",
  "GET /\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
  "GET / FTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
  "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
  "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n folded: line\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
  "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
  " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / http/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
  "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET nope HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET ?a HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET *a HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
  "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\x0bb\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
];

for (const request of MALFORMED) {
  Deno.test(`http1: answers ${JSON.stringify(request)} with 400`, () => {
    // Latin-1, one byte per code point, so "\xe9" is the byte 0xe9.
    const bytes = Uint8Array.from(request, (char) => char.charCodeAt(0));
    const error = assertThrows(() => feed([bytes]));
    assertInstanceOf(error, HandshakeError);
    assertEquals(error.status, 400);
  });
}

const RESPONSE = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const SERVER_FRAME = new Uint8Array([0x81, 0x02, 0x48, 0x69]);

Deno.test("http1: parses a response head from every split, keeping the bytes after it", () => {
  const bytes = concat(encoder.encode(RESPONSE), SERVER_FRAME);
  for (const pieces of [...splits(bytes), bytewise(bytes)]) {
    const { head, rest } = feedResponse(pieces);
    assertEquals(head.version, "HTTP/1.1");
    assertEquals(head.status, 101);
    assertEquals(head.reason, "Switching Protocols");
    assertEquals(
      head.headers.get("sec-websocket-accept"),
      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    );
    assertEquals(head.headers.get("UPGRADE"), "websocket");
    assertEquals(rest, SERVER_FRAME);
  }
});

Deno.test("http1: a status line may have an empty reason, or none", () => {
  for (const line of ["HTTP/1.1 101 ", "HTTP/1.1 101"]) {
    const head = parseResponseHead(
      encoder.encode(`${line}\r\nUpgrade: websocket\r\n\r\n`),
    );
    assertEquals([head.status, head.reason], [101, ""]);
  }
});

Deno.test("http1: a response head over the limit fails the upgrade, however it arrives", () => {
  const big = encoder.encode(
    `HTTP/1.1 101 OK\r\nX-Big: ${"x".repeat(2000)}\r\n\r\n`,
  );
  for (const pieces of [[big], bytewise(big)]) {
    const error = assertThrows(() => feedResponse(pieces, 1024));
    assertInstanceOf(error, UpgradeFailedError);
    assertEquals(error.status, null);
  }
  assertEquals(
    feedResponse([big], big.length).head.headers.get("x-big")?.length,
    2000,
  );
});

const MALFORMED_RESPONSES = [
  "GARBAGE\r\n\r\n",
  "GET / HTTP/1.1\r\n\r\n",
  "HTTP/1.1 1010 Switching\r\n\r\n",
  "HTTP/1.1 10 Switching\r\n\r\n",
  "HTTP/1.1  101 Switching\r\n\r\n",
  "HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n",
  "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n folded: line\r\n\r\n",
  "HTTP/1.1 101 OK\r\nUpgrade: web\x00socket\r\n\r\n",
];

for (const response of MALFORMED_RESPONSES) {
  Deno.test(`http1: ${JSON.stringify(response)} is a malformed response`, () => {
    const error = assertThrows(() => feedResponse([encoder.encode(response)]));
    assertInstanceOf(error, UpgradeFailedError);
    assertEquals(error.status, null);
    assertEquals(error.message.startsWith("malformed response: "), true);
  });
}

Deno.test("http1: the head's own bytes come back with it, at every split", () => {
  const bytes = concat(encoder.encode(REQUEST), FIRST_FRAME);
  for (const pieces of splits(bytes)) {
    assertEquals(new TextDecoder().decode(feed(pieces).bytes), REQUEST);
  }
});
