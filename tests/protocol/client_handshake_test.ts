import {
  assertEquals,
  assertInstanceOf,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { decodeBase64 } from "@std/encoding/base64";
import {
  generateKey,
  upgradeRequest,
  type UpgradeRequestOptions,
  validateUpgradeResponse,
  webSocketUrl,
} from "../../src/protocol/client_handshake.ts";
import { UpgradeFailedError } from "../../src/protocol/errors.ts";
import {
  acceptResponse,
  computeAcceptKey,
  validateUpgradeRequest,
} from "../../src/protocol/handshake.ts";
import {
  parseRequestHead,
  parseResponseHead,
  type ResponseHead,
} from "../../src/protocol/http1.ts";

const decoder = new TextDecoder();
/** RFC 6455 §1.3's key and the accept value that answers it. */
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

Deno.test("client handshake: a key is 16 random bytes in base64, fresh each time", () => {
  const keys = new Set(Array.from({ length: 50 }, generateKey));
  assertEquals(keys.size, 50);
  for (const key of keys) {
    assertEquals(key.length, 24);
    assertEquals(decodeBase64(key).length, 16);
  }
});

Deno.test("client handshake: writes the upgrade request byte for byte", () => {
  const bytes = upgradeRequest({ url: new URL("ws://example.com:8000/chat?room=1"), key: KEY });
  assertEquals(
    decoder.decode(bytes),
    "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8000\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
});

Deno.test("client handshake: offers subprotocols in order, then the extra headers", () => {
  const bytes = upgradeRequest({
    url: new URL("ws://[::1]/"),
    key: KEY,
    protocols: ["v2.chat", "chat"],
    headers: { Authorization: "Bearer x", "X-Trace": "1" },
  });
  assertEquals(
    decoder.decode(bytes),
    "GET / HTTP/1.1\r\nHost: [::1]\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
      "Sec-WebSocket-Protocol: v2.chat, chat\r\nauthorization: Bearer x\r\nx-trace: 1\r\n\r\n",
  );
});

Deno.test("client handshake: the request passes the server's own checks", () => {
  const head = parseRequestHead(upgradeRequest({ url: new URL("ws://a:1/x"), key: KEY }));
  assertEquals(validateUpgradeRequest(head), KEY);
});

Deno.test("client handshake: refuses bad subprotocols and headers before connecting", () => {
  const url = new URL("ws://a/");
  const refused: Partial<UpgradeRequestOptions>[] = [
    { protocols: ["a b"] },
    { protocols: [""] },
    { protocols: ["chat", "chat"] },
    { headers: { "Sec-WebSocket-Key": "x" } },
    { headers: { host: "b" } },
    { headers: { Connection: "close" } },
    { headers: { "X-Evil": "a\r\nInjected: yes" } },
    { headers: { "bad name": "x" } },
  ];
  for (const options of refused) {
    assertThrows(() => upgradeRequest({ url, key: KEY, ...options }), TypeError);
  }
});

Deno.test("client handshake: reads ws and wss URLs and refuses others", () => {
  assertEquals(webSocketUrl("ws://a:1/b?c").href, "ws://a:1/b?c");
  assertEquals(webSocketUrl(new URL("wss://a/")).protocol, "wss:");
  for (const url of ["http://a/", "a/b", "ws://a/#frag", "file:///x"]) {
    assertThrows(() => webSocketUrl(url), TypeError);
  }
});

/** A valid 101 response to {@linkcode KEY}, with fields changed or removed (null). */
function response(
  changes: Record<string, string | null> = {},
  status = 101,
): ResponseHead {
  const headers = new Headers({
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-accept": ACCEPT,
  });
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return {
    version: "HTTP/1.1",
    status,
    reason: status === 101 ? "Switching Protocols" : "",
    headers,
  };
}

Deno.test("client handshake: accepts the server's own 101 response", async () => {
  const head = parseResponseHead(acceptResponse(await computeAcceptKey(KEY)));
  assertEquals(await validateUpgradeResponse(head, KEY), "");
});

Deno.test("client handshake: tokens are case-insensitive and may sit in lists", async () => {
  const head = response({ upgrade: "WebSocket", connection: "keep-alive, UPGRADE" });
  assertEquals(await validateUpgradeResponse(head, KEY), "");
});

Deno.test("client handshake: returns the subprotocol chosen among those offered", async () => {
  const head = response({ "sec-websocket-protocol": "chat" });
  assertEquals(await validateUpgradeResponse(head, KEY, ["v2.chat", "chat"]), "chat");
  // Offering some but getting none is fine: the server may decline them all.
  assertEquals(await validateUpgradeResponse(response(), KEY, ["chat"]), "");
});

const REJECTIONS: {
  name: string;
  head: ResponseHead;
  protocols?: string[];
  message: string;
}[] = [
  { name: "200", head: response({}, 200), message: "the server answered 200, not 101" },
  { name: "404", head: response({}, 404), message: "the server answered 404, not 101" },
  { name: "no Upgrade", head: response({ upgrade: null }), message: "Upgrade: websocket" },
  { name: "Upgrade: h2c", head: response({ upgrade: "h2c" }), message: "Upgrade: websocket" },
  { name: "no Connection", head: response({ connection: null }), message: "Connection" },
  {
    name: "no Sec-WebSocket-Accept",
    head: response({ "sec-websocket-accept": null }),
    message: "the response has no Sec-WebSocket-Accept",
  },
  {
    name: "a wrong Sec-WebSocket-Accept",
    head: response({ "sec-websocket-accept": "n3NQ1Vd3cokG551zg4FLlsPkUmU=" }),
    message: "does not match the key",
  },
  {
    name: "a subprotocol when none was offered",
    head: response({ "sec-websocket-protocol": "chat" }),
    message: 'the server chose the subprotocol "chat", not offered',
  },
  {
    name: "a subprotocol that was not offered",
    head: response({ "sec-websocket-protocol": "superchat" }),
    protocols: ["chat"],
    message: 'the server chose the subprotocol "superchat", not offered',
  },
  {
    name: "two subprotocols",
    head: response({ "sec-websocket-protocol": "chat, v2" }),
    protocols: ["chat", "v2"],
    message: 'the server chose the subprotocol "chat, v2", not offered',
  },
  {
    name: "an extension (none is offered)",
    head: response({ "sec-websocket-extensions": "permessage-deflate" }),
    message: "the server chose extensions that were not offered: permessage-deflate",
  },
];

for (const { name, head, protocols, message } of REJECTIONS) {
  Deno.test(`client handshake: fails on a response with ${name}`, async () => {
    const error = await assertRejects(() => validateUpgradeResponse(head, KEY, protocols));
    assertInstanceOf(error, UpgradeFailedError);
    assertEquals(error.status, head.status);
    assertEquals(error.headers, head.headers);
    assertEquals(error.message.includes(message), true, error.message);
  });
}

Deno.test("client handshake: a wrong key's accept value is refused", async () => {
  const otherKey = generateKey();
  assertNotEquals(otherKey, KEY);
  await assertRejects(() => validateUpgradeResponse(response(), otherKey), UpgradeFailedError);
});
