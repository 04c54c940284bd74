import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { requestUrl, StoredRequest } from "../../src/protocol/request.ts";

const encoder = new TextEncoder();
const REQUEST = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8000\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nX-Two: a\r\nx-two: b\r\n\r\n";

Deno.test("request: forms the request URL from Host and the target", () => {
  const head = (target: string, host?: string) => ({
    method: "GET",
    target,
    version: "HTTP/1.1",
    headers: new Headers(host === undefined ? {} : { host }),
  });
  assertEquals(
    requestUrl(head("/a/b?c=d", "h:1"), "ws").href,
    "ws://h:1/a/b?c=d",
  );
  assertEquals(
    requestUrl(head("http://other/x?y", "h"), "ws").href,
    "ws://h/x?y",
  );
  assertEquals(
    requestUrl(head("/", "[::1]:8000"), "http").href,
    "http://[::1]:8000/",
  );
  for (
    const [target, host] of [["/", undefined], ["/", ""], ["/", "a/b"], [
      "/",
      "a b",
    ], ["nope", "h"]]
  ) {
    const error = assertThrows(() => requestUrl(head(target!, host), "ws"));
    assertInstanceOf(error, HandshakeError);
    assertEquals(error.status, 400);
  }
});

Deno.test("request: a stored request parses its bytes on first use, to the same URL and headers", () => {
  const request = new StoredRequest(encoder.encode(REQUEST), "ws");
  assertEquals(request.url.href, "ws://example.com:8000/chat?room=1");
  assertEquals(request.headers.get("x-two"), "a, b");
  assertEquals(request.headers === request.headers, true);
});
