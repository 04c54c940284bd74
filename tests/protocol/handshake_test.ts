import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { HandshakeError } from "../../src/protocol/errors.ts";
import {
  acceptResponse,
  computeAcceptKey,
  handshakeErrorResponse,
  httpResponse,
  isUpgradeRequest,
  offeredSubprotocols,
  validateUpgradeRequest,
} from "../../src/protocol/handshake.ts";
import type { RequestHead } from "../../src/protocol/http1.ts";

const decoder = new TextDecoder();

Deno.test("handshake: computes RFC 6455's Sec-WebSocket-Accept example", async () => {
  assertEquals(await computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("handshake: computes the seed tutorial's Sec-WebSocket-Accept example", async () => {
  assertEquals(await computeAcceptKey("hBxp5WcU+GvqHiOWpKipIQ=="), "n3NQ1Vd3cokG551zg4FLlsPkUmU=");
});

const VALID: Record<string, string> = {
  host: "192.168.1.101:8888",
  upgrade: "websocket",
  connection: "Upgrade",
  origin: "http://192.168.1.101:8000",
  "sec-websocket-key": "hBxp5WcU+GvqHiOWpKipIQ==",
  "sec-websocket-version": "13",
};

function request(
  changes: Record<string, string | null> = {},
  line: Partial<RequestHead> = {},
): RequestHead {
  const headers = new Headers();
  for (const [name, value] of Object.entries({ ...VALID, ...changes })) {
    if (value !== null) headers.set(name, value);
  }
  return { method: "GET", target: "/", version: "HTTP/1.1", headers, ...line };
}

Deno.test("handshake: accepts the seed's request and returns its key", () => {
  assertEquals(validateUpgradeRequest(request()), "hBxp5WcU+GvqHiOWpKipIQ==");
});

Deno.test("handshake: header tokens are case-insensitive and may sit in lists", () => {
  const head = request({ upgrade: "WebSocket", connection: "keep-alive, UPGRADE" });
  assertEquals(validateUpgradeRequest(head), VALID["sec-websocket-key"]);
});

const REFUSALS: { name: string; head: RequestHead; status: number }[] = [
  { name: "a POST", head: request({}, { method: "POST" }), status: 405 },
  { name: "HTTP/1.0", head: request({}, { version: "HTTP/1.0" }), status: 400 },
  { name: "no Host", head: request({ host: null }), status: 400 },
  { name: "no Upgrade", head: request({ upgrade: null }), status: 400 },
  { name: "Upgrade: h2c", head: request({ upgrade: "h2c" }), status: 400 },
  { name: "no Connection", head: request({ connection: null }), status: 400 },
  { name: "Connection: keep-alive", head: request({ connection: "keep-alive" }), status: 400 },
  { name: "no key", head: request({ "sec-websocket-key": null }), status: 400 },
  {
    name: "a 15-byte key",
    head: request({ "sec-websocket-key": "AAAAAAAAAAAAAAAAAAAA" }),
    status: 400,
  },
  {
    name: "a key that is not base64",
    head: request({ "sec-websocket-key": "!!!!!!!!!!!!!!!!!!!!!!==" }),
    status: 400,
  },
  {
    name: "two keys",
    head: request({ "sec-websocket-key": `${VALID["sec-websocket-key"]}, x` }),
    status: 400,
  },
  { name: "version 8", head: request({ "sec-websocket-version": "8" }), status: 426 },
  { name: "no version", head: request({ "sec-websocket-version": null }), status: 426 },
];

for (const { name, head, status } of REFUSALS) {
  Deno.test(`handshake: refuses ${name} with ${status}`, () => {
    const error = assertThrows(() => validateUpgradeRequest(head));
    assertInstanceOf(error, HandshakeError);
    assertEquals(error.status, status);
    if (status === 426) assertEquals(error.headers["Sec-WebSocket-Version"], "13");
  });
}

Deno.test("handshake: tells upgrade attempts from plain requests", () => {
  assertEquals(isUpgradeRequest(request()), true);
  assertEquals(isUpgradeRequest(request({ upgrade: null, connection: null })), true);
  const plain = request({
    upgrade: null,
    connection: null,
    "sec-websocket-key": null,
    "sec-websocket-version": null,
  });
  assertEquals(isUpgradeRequest(plain), false);
  assertEquals(
    isUpgradeRequest(
      request({ upgrade: "h2c", "sec-websocket-key": null, "sec-websocket-version": null }),
    ),
    false,
  );
});

Deno.test("handshake: writes the 101 response byte for byte", () => {
  assertEquals(
    decoder.decode(acceptResponse("n3NQ1Vd3cokG551zg4FLlsPkUmU=")),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: n3NQ1Vd3cokG551zg4FLlsPkUmU=\r\n\r\n",
  );
});

Deno.test("handshake: HTTP responses carry length, close, extra headers and the body", () => {
  assertEquals(
    decoder.decode(
      handshakeErrorResponse(new HandshakeError(426, "v", { "Sec-WebSocket-Version": "13" })),
    ),
    "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 2\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\nv\n",
  );
  assertEquals(
    decoder.decode(httpResponse(200, "<p>é</p>", { contentType: "text/html", omitBody: true })),
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("handshake: reads the offered subprotocols in order, over several lines, skipping empty elements", () => {
  const offered = (...lines: string[]) => {
    const headers = new Headers();
    for (const line of lines) headers.append("sec-websocket-protocol", line);
    return offeredSubprotocols(headers);
  };
  assertEquals(offeredSubprotocols(new Headers()), []);
  assertEquals(offered("chat"), ["chat"]);
  assertEquals(offered("v2.chat,chat , \tsuperchat"), ["v2.chat", "chat", "superchat"]);
  assertEquals(offered("a", "b, c"), ["a", "b", "c"]);
  assertEquals(offered(", a,,b ,"), ["a", "b"]);
  assertEquals(offered(""), []);
  for (const bad of ["a b", "a;b", '"a"', "a/b", "chat, x y"]) {
    const error = assertThrows(() => offered(bad), HandshakeError, undefined, bad);
    assertEquals(error.status, 400);
  }
});

Deno.test("handshake: a 101 names the chosen subprotocol and carries extra headers", () => {
  assertEquals(
    decoder.decode(
      acceptResponse("n3NQ1Vd3cokG551zg4FLlsPkUmU=", {
        protocol: "chat.v2",
        headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["X-Server", "wsd"]],
      }),
    ),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: n3NQ1Vd3cokG551zg4FLlsPkUmU=\r\nSec-WebSocket-Protocol: chat.v2\r\n" +
      "set-cookie: a=1\r\nset-cookie: b=2\r\nx-server: wsd\r\n\r\n",
  );
  assertEquals(
    acceptResponse("n3NQ1Vd3cokG551zg4FLlsPkUmU=", { protocol: "", headers: {} }),
    acceptResponse("n3NQ1Vd3cokG551zg4FLlsPkUmU="),
  );
});

const BAD_ACCEPT_OPTIONS: [string, Parameters<typeof acceptResponse>[1]][] = [
  ["a subprotocol that is not a token", { protocol: "a b" }],
  ["a value with CR LF", { headers: { "X-A": "1\r\nSet-Cookie: evil=1" } }],
  ["a value with LF", { headers: { "X-A": "1\nX-B: 2" } }],
  ["a name that is not a token", { headers: { "X A": "1" } }],
  ["Sec-WebSocket-Protocol", { headers: { "Sec-WebSocket-Protocol": "chat" } }],
  ["Sec-WebSocket-Accept", { headers: { "sec-websocket-accept": "x" } }],
  ["Sec-WebSocket-Extensions", { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } }],
  ["Upgrade", { headers: { Upgrade: "h2c" } }],
  ["Connection", { headers: { Connection: "close" } }],
  ["Content-Length", { headers: { "Content-Length": "0" } }],
  ["Transfer-Encoding", { headers: { "Transfer-Encoding": "chunked" } }],
];

for (const [name, options] of BAD_ACCEPT_OPTIONS) {
  Deno.test(`handshake: a 101 refuses ${name} with TypeError`, () => {
    assertThrows(() => acceptResponse("n3NQ1Vd3cokG551zg4FLlsPkUmU=", options), TypeError);
  });
}

Deno.test("handshake: a refusal's headers are checked; its status must be 3xx to 5xx", () => {
  assertEquals(
    decoder.decode(handshakeErrorResponse(new HandshakeError(403, "no", { "X-Why": "origin" }))),
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 3\r\nConnection: close\r\nX-Why: origin\r\n\r\nno\n",
  );
  assertEquals(
    decoder.decode(handshakeErrorResponse(new HandshakeError(418, ""))).split("\r\n")[0],
    "HTTP/1.1 418 ",
  );
  const badHeaders: Record<string, string>[] = [
    { "X-A": "1\r\nX-B: 2" },
    { "Content-Length": "9" },
    { "A B": "1" },
  ];
  for (const headers of badHeaders) {
    assertThrows(() => handshakeErrorResponse(new HandshakeError(403, "no", headers)), TypeError);
  }
  for (const status of [101, 200, 299, 600, 403.5, NaN]) {
    assertThrows(() => handshakeErrorResponse(new HandshakeError(status, "no")), RangeError);
  }
  assertEquals(
    decoder.decode(handshakeErrorResponse(new HandshakeError(302, "", { Location: "/b" })))
      .split("\r\n")[0],
    "HTTP/1.1 302 Found",
  );
});
