/**
 * `allowOrigins()` as `onUpgrade`, over loopback TCP with our `connect()` sending `Origin`: an
 * origin listed is admitted, another refused with 403, a missing one refused unless allowed; and
 * composed with a hook of one's own.
 */

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  allowOrigins,
  connect,
  type Message,
  UpgradeFailedError,
  type WebSocketConnection,
} from "../mod.ts";
import { withTimeout } from "./helpers/client.ts";
import { RawClient, upgradeRequest } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

const echo = (message: Message) => message;
const ALLOWED = ["https://example.com", "http://localhost:8000"];

/** Connects with `origin` (none if null), sends one message and returns the reply. */
async function roundTrip(url: string, origin: string | null): Promise<Message> {
  const headers: Record<string, string> = origin === null ? {} : { Origin: origin };
  const connection: WebSocketConnection = await connect(url, { headers });
  try {
    await connection.send("hi");
    return await withTimeout(connection.receive(), "the reply");
  } finally {
    await connection.close();
  }
}

/** The status `connect()` fails with, with `origin` (none if null). */
async function refusal(url: string, origin: string | null): Promise<number | null> {
  const error = await assertRejects(() => roundTrip(url, origin), UpgradeFailedError);
  return error.status;
}

Deno.test("origin: a listed origin is admitted, another refused with 403", async () => {
  await using server = startServer({ onUpgrade: allowOrigins(ALLOWED) }, echo);
  assertEquals(await roundTrip(server.url(), "https://example.com"), "hi");
  assertEquals(await roundTrip(server.url(), "http://localhost:8000"), "hi");
  for (
    const origin of [
      "https://evil.example",
      "http://example.com", // another scheme is another origin
      "https://example.com:8443", // and so is another port
      "https://example.com.evil.example",
      "null", // a sandboxed page or a file
    ]
  ) {
    assertEquals(await refusal(server.url(), origin), 403, origin);
  }
});

Deno.test("origin: the refusal says why, in a 403 a raw client reads", async () => {
  await using server = startServer({ onUpgrade: allowOrigins(ALLOWED) }, echo);
  for (
    const [origin, body] of [
      ["Origin: https://evil.example\r\n", "origin not allowed\n"],
      ["", "missing Origin\n"],
    ]
  ) {
    await using raw = await RawClient.connect(server.port);
    await raw.write(upgradeRequest("/", origin));
    const response = await withTimeout(raw.readAll(), "the response");
    assertEquals(response.split("\r\n")[0], "HTTP/1.1 403 Forbidden");
    assertEquals(response.slice(response.indexOf("\r\n\r\n") + 4), body);
  }
});

Deno.test("origin: a request without Origin is refused, or admitted with allowMissing", async () => {
  {
    await using server = startServer({ onUpgrade: allowOrigins(ALLOWED) }, echo);
    assertEquals(await refusal(server.url(), null), 403);
  }
  await using server = startServer({
    onUpgrade: allowOrigins(ALLOWED, { allowMissing: true }),
  }, echo);
  assertEquals(await roundTrip(server.url(), null), "hi");
  assertEquals(await refusal(server.url(), "https://evil.example"), 403);
});

Deno.test("origin: the check goes first in a hook of one's own, whose data then reaches the handler", async () => {
  const checkOrigin = allowOrigins(ALLOWED);
  await using server = startServer({
    onUpgrade: (request) => {
      checkOrigin(request);
      return { data: request.url.searchParams.get("room") ?? "lobby" };
    },
  }, (message, connection) => `${connection.data}: ${message}`);
  assertEquals(await roundTrip(server.url("/?room=7"), "https://example.com"), "7: hi");
  assertEquals(await refusal(server.url("/?room=7"), "https://evil.example"), 403);
});

Deno.test("origin: entries are taken as their origins; one without an origin is a TypeError", () => {
  const check = allowOrigins(["HTTPS://Example.COM:443/app?x#y"]);
  const request = (origin: string) => ({
    url: new URL("ws://example.com/"),
    headers: new Headers({ origin }),
    remoteAddr: { hostname: "192.0.2.1", port: 50000 },
    protocols: [],
  });
  check(request("https://example.com"));
  for (const entry of ["example.com", "", "file:///srv/page.html", "data:text/html,hi"]) {
    assertThrows(() => allowOrigins([entry]), TypeError, undefined, entry);
  }
});
