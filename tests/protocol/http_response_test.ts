import { assertEquals, assertThrows } from "@std/assert";
import { continueResponse } from "../../src/protocol/expect.ts";
import {
  type AnsweredRequest,
  type EncodedResponseHead,
  encodeResponseHead,
  type ResponseHeadInit,
} from "../../src/protocol/http_response.ts";

const decoder = new TextDecoder("latin1");

function request(version = "HTTP/1.1", connection?: string, method = "GET"): AnsweredRequest {
  return { method, version, headers: new Headers(connection ? { connection } : {}) };
}

/** The head as text, with how the body goes after it. */
function encode(init: Partial<ResponseHeadInit>): Omit<EncodedResponseHead, "bytes"> & {
  text: string;
} {
  const { bytes, ...rest } = encodeResponseHead({
    status: 200,
    bodyLength: 0,
    request: request(),
    ...init,
  });
  return { text: decoder.decode(bytes), ...rest };
}

const HTTP11 = request();
const HTTP10 = request("HTTP/1.0");
const HTTP10_KEEP = request("HTTP/1.0", "keep-alive");
const HEAD = request("HTTP/1.1", undefined, "HEAD");
const TYPE: [string, string][] = [["Content-Type", "text/plain"]];

// Each case: what the application gives, and the exact head and framing that come out.
const CASES: [string, Partial<ResponseHeadInit>, string, string, number, boolean][] = [
  [
    "a known length gets Content-Length",
    { headers: TYPE, bodyLength: 5 },
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
    "length",
    5,
    false,
  ],
  [
    "no body is Content-Length: 0",
    { bodyLength: 0 },
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "length",
    0,
    false,
  ],
  [
    "an unknown length to HTTP/1.1 is chunked",
    { bodyLength: null },
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "chunked",
    0,
    false,
  ],
  [
    "an unknown length to HTTP/1.0 is close-delimited",
    { bodyLength: null, request: HTTP10 },
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
    "close",
    0,
    true,
  ],
  [
    "an unknown length to a keep-alive HTTP/1.0 client still closes",
    { bodyLength: null, request: HTTP10_KEEP },
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
    "close",
    0,
    true,
  ],
  [
    "a known length to HTTP/1.0 closes without keep-alive",
    { bodyLength: 2, request: HTTP10 },
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
    "length",
    2,
    true,
  ],
  [
    "a known length to a keep-alive HTTP/1.0 client says keep-alive",
    { bodyLength: 2, request: HTTP10_KEEP },
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
    "length",
    2,
    false,
  ],
  [
    "a request with Connection: close is answered with it",
    { bodyLength: 2, request: request("HTTP/1.1", "close") },
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
    "length",
    2,
    true,
  ],
  [
    "a server that will not keep the connection says close",
    { bodyLength: 2, keepAlive: false },
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
    "length",
    2,
    true,
  ],
  [
    "the application's Connection: close closes",
    { bodyLength: 2, headers: [["Connection", "Close"]] },
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
    "length",
    2,
    true,
  ],
  [
    "the application's other Connection options stay",
    { bodyLength: 2, headers: [["Upgrade", "h2c"], ["connection", "keep-alive, Upgrade"]] },
    "HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 2\r\nConnection: Upgrade\r\n\r\n",
    "length",
    2,
    false,
  ],
  [
    "HEAD keeps the GET's known length and sends no body",
    { bodyLength: 5, request: HEAD },
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "HEAD of an unknown length gets no framing field",
    { bodyLength: null, request: HEAD },
    "HTTP/1.1 200 OK\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "HEAD keeps the application's Content-Length",
    { bodyLength: 0, request: HEAD, headers: [["content-length", "1234"]] },
    "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "HEAD drops the application's chunked",
    { bodyLength: null, request: HEAD, headers: [["Transfer-Encoding", "chunked"]] },
    "HTTP/1.1 200 OK\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "HEAD from HTTP/1.0 of an unknown length keeps the connection",
    { bodyLength: null, request: request("HTTP/1.0", "keep-alive", "HEAD") },
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "204 gets no framing field",
    { status: 204 },
    "HTTP/1.1 204 No Content\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "304 gets no framing field",
    { status: 304, headers: [["ETag", '"x"']] },
    'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
    "none",
    0,
    false,
  ],
  [
    "304 keeps the application's Content-Length",
    { status: 304, headers: [["Content-Length", "99"]] },
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "an interim response has no framing and never closes",
    { status: 103, headers: [["Link", "</a.css>; rel=preload"]], keepAlive: false },
    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
    "none",
    0,
    false,
  ],
  [
    "the application's Content-Length frames an unknown length",
    { bodyLength: null, headers: [["Content-Length", "7"]] },
    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
    "length",
    7,
    false,
  ],
  [
    "the application's Content-Length that agrees is written once",
    { bodyLength: 7, headers: [["Content-Length", "7"], ["content-length", "7"]] },
    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
    "length",
    7,
    false,
  ],
  [
    "the application's chunked on an unknown length is the framing's own",
    { bodyLength: null, headers: [["transfer-encoding", "Chunked"]] },
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "chunked",
    0,
    false,
  ],
  [
    "the application's chunked to HTTP/1.0 gives way to close",
    { bodyLength: null, request: HTTP10, headers: [["transfer-encoding", "chunked"]] },
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
    "close",
    0,
    true,
  ],
  [
    "a status text given is written",
    { status: 404, statusText: "Nope" },
    "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n",
    "length",
    0,
    false,
  ],
  [
    "an unregistered status gets an empty reason",
    { status: 299 },
    "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n",
    "length",
    0,
    false,
  ],
  [
    "fields are written in the order given, repeats included",
    { headers: [["Set-Cookie", "a=1"], ["X-A", "1"], ["Set-Cookie", "b=2"]] },
    "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-A: 1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
    "length",
    0,
    false,
  ],
  [
    "a value of Latin-1 bytes is written byte for byte",
    { headers: [["X-Name", "caf\xe9"]] },
    "HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nContent-Length: 0\r\n\r\n",
    "length",
    0,
    false,
  ],
];

for (const [name, init, text, framing, length, close] of CASES) {
  Deno.test(`response head: ${name}`, () => {
    assertEquals(encode(init), { text, framing: framing as never, length, close });
  });
}

Deno.test("response head: a Headers object is written as it iterates, lower-case names", () => {
  const headers = new Headers({ "X-B": "2", "Content-Type": "text/html" });
  assertEquals(
    encode({ headers, bodyLength: 3 }).text,
    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-b: 2\r\nContent-Length: 3\r\n\r\n",
  );
});

Deno.test("response head: a Latin-1 head is one byte per character", () => {
  const { bytes } = encodeResponseHead({
    status: 200,
    headers: [["X-A", "\xff"]],
    bodyLength: 0,
    request: HTTP11,
  });
  assertEquals(bytes.subarray(22, 24), new Uint8Array([0xff, 0x0d]));
});

Deno.test("response head: a 100 Continue is the bytes continueResponse gives", () => {
  assertEquals(
    encodeResponseHead({ status: 100, bodyLength: 0, request: HTTP11 }).bytes,
    continueResponse(),
  );
});

// Each case could break the framing of this response or the next: refused, with the message.
const REFUSED: [Partial<ResponseHeadInit>, ErrorConstructor | RangeErrorConstructor, string][] = [
  [
    { headers: [["X-A", "a\r\nX-Injected: b"]] },
    TypeError,
    "the value of header X-A holds a control character (CR, LF …)",
  ],
  [
    { headers: [["X-A", "a\nb"]] },
    TypeError,
    "the value of header X-A holds a control character (CR, LF …)",
  ],
  [
    { headers: [["X-A", "a\x00b"]] },
    TypeError,
    "the value of header X-A holds a control character (CR, LF …)",
  ],
  [{ headers: [["X-A\r\n", "b"]] }, TypeError, 'invalid header name "X-A\\r\\n"'],
  [{ headers: [["X A", "b"]] }, TypeError, 'invalid header name "X A"'],
  [{ headers: [["", "b"]] }, TypeError, 'invalid header name ""'],
  [{ headers: [["X-A", "\u0100"]] }, TypeError, 'a header holds "Ā", which is not a byte'],
  [{ statusText: "OK\r\nX-Injected: a" }, TypeError, 'invalid status text "OK\\r\\nX-Injected: a"'],
  [
    { headers: [["Content-Length", "5\r\nX: y"]] },
    TypeError,
    'invalid Content-Length "5\\r\\nX: y"',
  ],
  [{ headers: [["Content-Length", "-1"]] }, TypeError, 'invalid Content-Length "-1"'],
  [
    { headers: [["Content-Length", "5"], ["Content-Length", "6"]], bodyLength: null },
    TypeError,
    'invalid Content-Length "5, 6"',
  ],
  [
    { headers: [["Content-Length", "4"]], bodyLength: 5 },
    TypeError,
    "Content-Length 4 on a body of 5 bytes",
  ],
  [
    { headers: [["Content-Length", "0"]], bodyLength: 5 },
    TypeError,
    "Content-Length 0 on a body of 5 bytes",
  ],
  [
    { headers: [["Transfer-Encoding", "chunked"]], bodyLength: 5 },
    TypeError,
    "Transfer-Encoding: chunked on a body of 5 bytes",
  ],
  [
    { headers: [["Transfer-Encoding", "gzip, chunked"]], bodyLength: null },
    TypeError,
    "Transfer-Encoding may only be chunked: no other coding is applied",
  ],
  [
    { headers: [["Transfer-Encoding", "chunked\r\n"]], bodyLength: null },
    TypeError,
    "Transfer-Encoding may only be chunked: no other coding is applied",
  ],
  [
    { headers: [["Transfer-Encoding", "chunked"], ["Content-Length", "5"]], bodyLength: null },
    TypeError,
    "both Content-Length and Transfer-Encoding",
  ],
  [
    { headers: [["Connection", "close\r\nX: y"]] },
    TypeError,
    'invalid Connection option "close\\r\\nX: y"',
  ],
  [{ status: 204, bodyLength: 5 }, TypeError, "a 204 response has no content"],
  [{ status: 304, bodyLength: null }, TypeError, "a 304 response has no content"],
  [
    { status: 204, headers: [["Content-Length", "0"]] },
    TypeError,
    "a 204 response has no Content-Length or Transfer-Encoding",
  ],
  [
    { status: 103, headers: [["Transfer-Encoding", "chunked"]] },
    TypeError,
    "a 103 response has no Content-Length or Transfer-Encoding",
  ],
  [{ status: 101 }, RangeError, "a response's status is from 100 to 599 and not 101, not 101"],
  [{ status: 99 }, RangeError, "a response's status is from 100 to 599 and not 101, not 99"],
  [{ status: 600 }, RangeError, "a response's status is from 100 to 599 and not 101, not 600"],
  [{ status: 200.5 }, RangeError, "a response's status is from 100 to 599 and not 101, not 200.5"],
  [{ status: 100, request: HTTP10 }, RangeError, "an HTTP/1.0 client is sent no 1xx response"],
  [{ bodyLength: -1 }, RangeError, "a body's length is a whole number of bytes, not -1"],
  [{ bodyLength: 1.5 }, RangeError, "a body's length is a whole number of bytes, not 1.5"],
];

for (const [init, type, message] of REFUSED) {
  Deno.test(`response head: refuses ${JSON.stringify(init)}`, () => {
    assertThrows(() => encode(init), type, message);
  });
}
