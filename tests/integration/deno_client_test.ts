/**
 * The CLI as a real process, on Deno, Bun and Node, against Deno's own `WebSocket` and `fetch`:
 * echo of every size, many clients at once, the close handshake, and the HTTP side (test page, 404,
 * HEAD).
 */

import { assert, assertEquals } from "@std/assert";
import { TEST_PAGE } from "../../mod.ts";
import {
  firstDifference,
  openMany,
  patternBytes,
  TestClient,
  withTimeout,
} from "../helpers/client.ts";
import { testCli } from "../helpers/server.ts";

const MiB = 1024 * 1024;

testCli("cli: prints the URL it listens on", (cli) => {
  assertEquals(
    cli.output(),
    `Listening on http://127.0.0.1:${cli.port}/ (WebSocket: ws://127.0.0.1:${cli.port}/)\n`,
  );
});

testCli("cli: echoes text messages unchanged, at every length-field boundary", async (cli) => {
  await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
  const messages = [
    "",
    "hello",
    "héllo wörld — ✓ 𝄞 🎉",
    "a".repeat(125),
    "b".repeat(126),
    "c".repeat(65535),
    "d".repeat(65536),
  ];
  for (const message of messages) client.send(message);
  assertEquals(await client.collect(messages.length), messages);
});

testCli(
  "cli: echoes binary messages byte-identical at every length-field boundary",
  async (cli) => {
    await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
    const lengths = [0, 1, 125, 126, 127, 65535, 65536];
    for (const length of lengths) client.send(patternBytes(length, length));
    for (const length of lengths) {
      assertEquals(firstDifference(await client.nextBytes(), patternBytes(length, length)), -1);
    }
  },
);

for (const size of [1 * MiB, 16 * MiB]) {
  testCli(`cli: echoes a ${size / MiB} MiB binary message byte-identical`, async (cli) => {
    await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
    const sent = patternBytes(size, 42);
    client.send(sent);
    const received = await client.nextBytes(20_000);
    assertEquals(received.length, size);
    assertEquals(firstDifference(received, sent), -1);
  });
}

testCli("cli: echoes a 1 MiB text message of multi-byte characters unchanged", async (cli) => {
  await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
  // 2-, 3- and 4-byte UTF-8 sequences: 9 bytes per repeat.
  const text = "é€𝄞".repeat(Math.ceil(MiB / 9));
  client.send(text);
  const received = await client.next(20_000);
  assert(received === text, `got ${typeof received} of length ${received.length}`);
});

testCli("cli: 100 concurrent clients each get their own 20 echoes, in order", async (cli) => {
  await using clients = await openMany(`ws://127.0.0.1:${cli.port}/`, 100);
  const expected = (i: number) => Array.from({ length: 20 }, (_, j) => `client ${i} message ${j}`);
  clients.forEach((client, i) => expected(i).forEach((message) => client.send(message)));
  const received = await Promise.all(clients.map((client) => client.collect(20, 15_000)));
  received.forEach((messages, i) => assertEquals(messages, expected(i)));
});

for (
  const [code, reason] of [[1000, "normal"], [3000, "registered 3000"], [
    4999,
    "private ✓",
  ]] as const
) {
  testCli(`cli: a client close with ${code} comes back with its code and reason`, async (cli) => {
    await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
    client.send("before closing");
    assertEquals(await client.next(), "before closing");
    assertEquals(await client.close(code, reason), { code, reason, wasClean: true });
  });
}

testCli("cli: 10000 small messages from one client are all echoed in order", async (cli) => {
  await using client = await TestClient.open(`ws://127.0.0.1:${cli.port}/`);
  const count = 10_000;
  const sent = Array.from(
    { length: count },
    (_, i) => i % 2 === 0 ? `${i}` : patternBytes(i % 7, i),
  );
  for (const message of sent) client.send(message);
  assertEquals(await client.collect(count, 15_000), sent);
});

/** Fetches `path` from the CLI and reads the whole body, so no response resource is left open. */
async function fetchText(port: number, path: string, method = "GET") {
  const response = await withTimeout(
    fetch(`http://127.0.0.1:${port}${path}`, { method }),
    `${method} ${path}`,
  );
  return { response, body: await withTimeout(response.text(), `${method} ${path} body`) };
}

testCli("cli: GET / serves the test page as HTML", async (cli) => {
  const { response, body } = await fetchText(cli.port, "/");
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert(body.includes("WebSocket test page"), "the page lacks its title");
  assertEquals(body, TEST_PAGE);
});

testCli("cli: GET of any other path is 404", async (cli) => {
  const { response, body } = await fetchText(cli.port, "/nope");
  assertEquals(response.status, 404);
  assertEquals(body, "not found\n");
});

testCli("cli: HEAD / has the page's headers and no body", async (cli) => {
  const { response, body } = await fetchText(cli.port, "/", "HEAD");
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(
    response.headers.get("content-length"),
    String(new TextEncoder().encode(TEST_PAGE).length),
  );
  assertEquals(body, "");
});
