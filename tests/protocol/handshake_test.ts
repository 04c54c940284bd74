import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { HandshakeError } from "../../src/protocol/errors.ts";
import {
  acceptResponse,
  computeAcceptKey,
  handshakeErrorResponse,
  httpResponse,
  isUpgradeRequest,
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
