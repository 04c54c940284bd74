/**
 * A Hono app served through `serve({ fetch: app.fetch })`, with WebSockets on the same port, as
 * a process on Deno, Bun and Node: real HTTP from this runtime's `fetch()`, keep-alive and every
 * smuggling refusal over a raw socket (none reaches the app), and WebSockets beside the app or
 * routed by it (`fetchUpgrades`, `c.env.upgrade`).
 */

import { assertEquals } from "@std/assert";
import { TestClient, withTimeout } from "../helpers/client.ts";
import { HttpClient, requestBytes } from "../helpers/http_client.ts";
import { assertRefused, REFUSED } from "../helpers/http_refusals.ts";
import { requestUpgrade } from "../helpers/raw_client.ts";
import {
  RUNTIMES,
  scriptCommand,
  type ServerProcess,
  startServerProcess,
} from "../helpers/server.ts";

const HONO_SERVER = new URL("../helpers/hono_server.ts", import.meta.url).pathname;

function startHono(runtime: (typeof RUNTIMES)[number], mode: "beside" | "routed") {
  return startServerProcess(
    scriptCommand(runtime, HONO_SERVER, [mode], { stdout: "piped", stderr: "inherit" }),
  );
}

async function text(server: ServerProcess, path: string, init?: RequestInit) {
  const response = await withTimeout(fetch(`http://127.0.0.1:${server.port}${path}`, init), path);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] hono: the app answers plain HTTP, and WebSockets open on its port`, async () => {
    await using server = await startHono(runtime, "beside");
    assertEquals((await text(server, "/")).body, "hello from hono");
    const json = await text(server, "/json", {
      method: "POST",
      body: JSON.stringify({ a: [1, 2] }),
      headers: { "content-type": "application/json" },
    });
    assertEquals([json.status, JSON.parse(json.body)], [200, { got: { a: [1, 2] } }]);
    const streamed = await text(server, "/stream");
    assertEquals([streamed.body, streamed.headers.get("transfer-encoding")], [
      "one two three",
      "chunked",
    ]);
    assertEquals((await text(server, "/nowhere")).status, 404);
    await using client = await TestClient.open(`ws://127.0.0.1:${server.port}/any/path`);
    client.send("over the same port");
    assertEquals(await client.next(), "over the same port");
    // The upgrade went to the handler, not to the app.
    assertEquals((await text(server, "/count")).body, "4");
  });

  Deno.test(`[${runtime}] hono: keep-alive carries several requests on one connection`, async () => {
    await using server = await startHono(runtime, "beside");
    await using client = await HttpClient.connect(server.port);
    await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
    await client.write(
      requestBytes(
        "POST /json HTTP/1.1",
        "Host: a",
        "Content-Length: 7",
        "Content-Type: application/json",
      ),
    );
    await client.write('{"b":3}');
    const first = await client.response();
    const second = await client.response();
    assertEquals([first.body, JSON.parse(second.body)], ["hello from hono", { got: { b: 3 } }]);
    assertEquals(await client.ended(100), false);
  });

  Deno.test(`[${runtime}] hono: a chunked upload after 100 Continue, and a method a Request cannot carry`, async () => {
    await using server = await startHono(runtime, "beside");
    await using client = await HttpClient.connect(server.port);
    await client.write(
      requestBytes(
        "PUT /upload HTTP/1.1",
        "Host: a",
        "Transfer-Encoding: chunked",
        "Expect: 100-continue",
      ),
    );
    assertEquals((await client.response()).status, 100);
    await client.write("4000\r\n" + "x".repeat(0x4000) + "\r\n3\r\nend\r\n0\r\n\r\n");
    assertEquals((await client.response()).body, String(0x4000 + 3));
    // Bun's Request turns a method it does not know into GET: such a request gets 501 there.
    await client.write(requestBytes("FROB / HTTP/1.1", "Host: a"));
    assertEquals((await client.response()).status, runtime === "bun" ? 501 : 404);
  });

  Deno.test(`[${runtime}] hono: smuggling and malformed requests get 400 and the end of TCP, the app seeing none`, async (t) => {
    await using server = await startHono(runtime, "beside");
    for (const refused of REFUSED) {
      await t.step(
        `${refused.name}: ${refused.status ?? 400}`,
        () => assertRefused(server.port, refused),
      );
    }
    assertEquals((await text(server, "/count")).body, "0");
  });

  Deno.test(`[${runtime}] hono: with fetchUpgrades, the app routes upgrades and attaches data`, async () => {
    await using server = await startHono(runtime, "routed");
    await using client = await TestClient.open(`ws://127.0.0.1:${server.port}/rooms/lobby`);
    client.send("hi");
    assertEquals(await client.next(), "lobby: hi");
    const refused = await requestUpgrade(server.port, "", "/nowhere");
    assertEquals(refused.status, 404);
    assertEquals((await text(server, "/")).body, "hello from hono");
  });
}
