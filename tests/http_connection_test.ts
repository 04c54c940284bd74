/**
 * Plain HTTP/1.1 through `fetch` over loopback TCP, as a raw client sees it byte for byte:
 * keep-alive and pipelining, `Connection: close`, HTTP/1.0, `HEAD`, request bodies by length and
 * chunked, `Expect: 100-continue`, the keep-alive timeout, a failing `fetch`, every smuggling
 * and malformed-input refusal (400 and the end of TCP, the application never called), and
 * WebSockets on the same connection and port.
 */

import { assert, assertEquals, assertInstanceOf, assertMatch } from "@std/assert";
import { type FetchHandler, type Message, Opcode, type ServeOptions } from "../mod.ts";
import { delay, TestClient, withTimeout } from "./helpers/client.ts";
import { frame } from "./helpers/frames.ts";
import { HttpClient, requestBytes } from "./helpers/http_client.ts";
import { assertRefused, REFUSED } from "./helpers/http_refusals.ts";
import { RawPeer, upgradeRequest } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

const echo = (message: Message) => message;

/** A server whose `fetch` records every request it is given, and what `onError` heard. */
function recording(fetch: FetchHandler<unknown>, options: ServeOptions<unknown> = {}) {
  const requests: Request[] = [];
  const errors: unknown[] = [];
  const server = startServer<unknown>({
    onError: (error) => void errors.push(error),
    ...options,
    fetch: (request, info) => {
      requests.push(request);
      return fetch(request, info);
    },
  }, echo);
  return { server, requests, errors, [Symbol.asyncDispose]: () => server.server.shutdown() };
}

const hello: FetchHandler<unknown> = (request) =>
  new Response(`hello ${new URL(request.url).pathname}`);

Deno.test("http: fetch answers plain requests, and a WebSocket opens on the same port", async () => {
  await using app = recording(hello);
  const response = await fetch(`http://127.0.0.1:${app.server.port}/page?x=1`);
  assertEquals([response.status, await response.text()], [200, "hello /page"]);
  assertEquals(app.requests[0].url, `http://127.0.0.1:${app.server.port}/page?x=1`);
  await using client = await TestClient.open(app.server.url("/"));
  client.send("and a WebSocket");
  assertEquals(await client.next(), "and a WebSocket");
  assertEquals(app.requests.length, 1);
});

Deno.test("http: fetch is told the client's address", async () => {
  let seen: Deno.NetAddr | undefined;
  await using app = recording((_, info) => {
    seen = info.remoteAddr as Deno.NetAddr;
    return new Response("ok");
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).body, "ok");
  assertEquals(seen?.hostname, "127.0.0.1");
  assertEquals(seen?.port, (client.conn.localAddr as Deno.NetAddr).port);
});

Deno.test("http: keep-alive serves requests one after another on one connection", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  for (const path of ["/a", "/b", "/c"]) {
    await client.write(requestBytes(`GET ${path} HTTP/1.1`, "Host: a"));
    const response = await client.response();
    assertEquals([response.status, response.body], [200, `hello ${path}`]);
    assertEquals(response.headers.get("connection"), null);
    assertEquals(response.headers.get("content-length"), String(`hello ${path}`.length));
    assertMatch(response.headers.get("date") ?? "", /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  }
  assertEquals(await client.ended(200), false);
  assertEquals(app.requests.length, 3);
});

Deno.test("http: pipelined requests are answered in order, a slow one holding back the next", async () => {
  await using app = recording(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/slow") await delay(100);
    const body = request.body ? await request.text() : "";
    return new Response(`${request.method} ${path} ${body}`);
  });
  await using client = await HttpClient.connect(app.server.port);
  const requests = [
    requestBytes("GET /slow HTTP/1.1", "Host: a"),
    requestBytes("POST /body HTTP/1.1", "Host: a", "Content-Length: 5"),
    new TextEncoder().encode("12345"),
    requestBytes("PUT /chunked HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"),
    new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n"),
    requestBytes("GET /last HTTP/1.1", "Host: a"),
  ];
  const all = new Uint8Array(requests.reduce((sum, part) => sum + part.length, 0));
  requests.reduce((offset, part) => (all.set(part, offset), offset + part.length), 0);
  await client.write(all);
  const bodies = [];
  for (let i = 0; i < 4; i++) bodies.push((await client.response()).body);
  assertEquals(bodies, ["GET /slow ", "POST /body 12345", "PUT /chunked abc", "GET /last "]);
  assertEquals(await client.ended(200), false);
});

Deno.test("http: Connection: close is answered with Connection: close, then the end of TCP", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET /x HTTP/1.1", "Host: a", "Connection: close"));
  const response = await client.response();
  assertEquals([response.body, response.headers.get("connection")], ["hello /x", "close"]);
  assert(await client.ended(), "TCP ends after the response");
});

Deno.test("http: HTTP/1.0 closes after its response unless it asks for keep-alive", async () => {
  await using app = recording(hello);
  {
    await using client = await HttpClient.connect(app.server.port);
    await client.write(requestBytes("GET /old HTTP/1.0", "Host: a"));
    const response = await client.response();
    assertEquals([response.body, response.headers.get("connection")], ["hello /old", "close"]);
    assert(await client.ended());
  }
  await using client = await HttpClient.connect(app.server.port);
  for (const path of ["/1", "/2"]) {
    await client.write(requestBytes(`GET ${path} HTTP/1.0`, "Host: a", "Connection: keep-alive"));
    const response = await client.response();
    assertEquals([response.body, response.headers.get("connection")], [
      `hello ${path}`,
      "keep-alive",
    ]);
  }
});

Deno.test("http: HEAD gets the head a GET would, with its Content-Length, and no body", async () => {
  await using app = recording(() => new Response("twelve bytes", { headers: { "x-a": "1" } }));
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("HEAD / HTTP/1.1", "Host: a"));
  const head = await client.response("HEAD");
  assertEquals([head.status, head.headers.get("content-length")], [200, "12"]);
  assertEquals(head.headers.get("x-a"), "1");
  // No body went out: the next response follows the head at once.
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).body, "twelve bytes");
  assertEquals(app.requests.map((request) => request.method), ["HEAD", "GET"]);
});

Deno.test("http: a streamed response is sent chunked, as its chunks come", async () => {
  const second = Promise.withResolvers<void>();
  await using app = recording(() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("first "));
          await second.promise;
          controller.enqueue(new TextEncoder().encode("second"));
          controller.close();
        },
      }),
    )
  );
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  // The head and the first chunk go before the second chunk exists.
  const response = client.response();
  await delay(50);
  second.resolve();
  const { headers, body, framing } = await response;
  assertEquals([framing, headers.get("transfer-encoding"), body], [
    "chunked",
    "chunked",
    "first second",
  ]);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).status, 200, "the connection is kept");
});

Deno.test("http: an HTTP/1.0 client gets a streamed response delimited by the end of TCP", async () => {
  await using app = recording(() =>
    new Response(
      new ReadableStream({
        async pull(controller) {
          await delay(10);
          controller.enqueue(new TextEncoder().encode("streamed"));
          controller.close();
        },
      }),
    )
  );
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.0", "Host: a", "Connection: keep-alive"));
  const response = await client.response();
  assertEquals([response.framing, response.body], ["close", "streamed"]);
  assertEquals(response.headers.get("connection"), "close");
});

Deno.test("http: a request body by Content-Length comes whole, whatever pieces it is sent in", async () => {
  await using app = recording(async (request) => new Response(`got ${await request.text()}`));
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("POST / HTTP/1.1", "Host: a", "Content-Length: 12"));
  for (const piece of ["hel", "lo, ", "wor", "ld"]) {
    await delay(5);
    await client.write(piece);
  }
  assertEquals((await client.response()).body, "got hello, world");
});

Deno.test("http: a chunked request body is streamed to request.body, chunk by chunk", async () => {
  const chunks: string[] = [];
  const next = Promise.withResolvers<void>();
  await using app = recording(async (request) => {
    const reader = request.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (chunks.length === 1) next.resolve();
    }
    return new Response(chunks.join("+"));
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"));
  await client.write("5;ext=1\r\nfirst\r\n");
  // The application has the first chunk before the second is sent.
  await withTimeout(next.promise, "the first chunk");
  await client.write("6\r\nsecond\r\n0\r\nTrailer: x\r\n\r\n");
  assertEquals((await client.response()).body, "first+second");
  assertEquals(app.requests[0].headers.get("transfer-encoding"), "chunked");
});

Deno.test("http: a body the handler does not read stops the server reading the client", async () => {
  const BODY_BYTES = 32 * 1024 * 1024;
  const called = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  await using app = recording(async (request) => {
    called.resolve();
    await release.promise;
    return new Response(`${(await request.arrayBuffer()).byteLength}`);
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("POST / HTTP/1.1", "Host: a", `Content-Length: ${BODY_BYTES}`));
  const body = new Uint8Array(BODY_BYTES);
  let written = 0;
  const writing = (async () => {
    while (written < body.length) {
      written += await client.conn.write(body.subarray(written, written + 1024 * 1024));
    }
  })();
  await withTimeout(called.promise, "the handler");
  await delay(300);
  // Nothing read it: the kernel's buffers, a few MiB, are all that went.
  assert(written < BODY_BYTES / 2, `${written} of ${BODY_BYTES} bytes written unread`);
  release.resolve();
  await withTimeout(writing, "the rest of the body", 20_000);
  assertEquals((await client.response("GET", 20_000)).body, String(BODY_BYTES));
});

Deno.test("http: maxBodyBytes: a larger Content-Length gets 413 before fetch runs", async () => {
  await using app = recording(hello, { maxBodyBytes: 10 });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("POST / HTTP/1.1", "Host: a", "Content-Length: 11"));
  const response = await client.response();
  assertEquals([response.status, response.headers.get("connection")], [413, "close"]);
  assert(await client.ended());
  assertEquals(app.requests.length, 0);
});

Deno.test("http: maxBodyBytes: a chunked body that grows past it gets 413 as it is read", async () => {
  await using app = recording(async (request) => new Response(await request.text()), {
    maxBodyBytes: 10,
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"));
  await delay(20);
  await client.write("8\r\n12345678\r\n");
  await delay(20);
  await client.write("8\r\n12345678\r\n0\r\n\r\n");
  const response = await client.response();
  assertEquals([response.status, response.headers.get("connection")], [413, "close"]);
  assert(await client.ended());
  // The client's own error is not the application's.
  assertEquals(app.errors, []);
});

Deno.test("http: Expect: 100-continue gets 100 Continue once the handler reads the body", async () => {
  await using app = recording(async (request) => new Response(`got ${await request.text()}`));
  await using client = await HttpClient.connect(app.server.port);
  await client.write(
    requestBytes("PUT / HTTP/1.1", "Host: a", "Content-Length: 4", "Expect: 100-continue"),
  );
  const interim = await client.response();
  assertEquals(interim.statusLine, "HTTP/1.1 100 Continue");
  await client.write("data");
  const final = await client.response();
  assertEquals([final.status, final.body], [200, "got data"]);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).status, 200, "the connection is kept");
});

Deno.test("http: Expect: 100-continue to a handler that does not read gets its answer, no 100, and the end", async () => {
  await using app = recording(() => new Response("no thanks", { status: 403 }));
  await using client = await HttpClient.connect(app.server.port);
  await client.write(
    requestBytes("PUT / HTTP/1.1", "Host: a", "Content-Length: 4", "Expect: 100-continue"),
  );
  const response = await client.response();
  assertEquals([response.status, response.body], [403, "no thanks"]);
  assertEquals(response.headers.get("connection"), "close");
  assert(await client.ended());
});

Deno.test("http: an expectation other than 100-continue gets 417", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a", "Expect: teapot"));
  assertEquals((await client.response()).status, 417);
  assert(await client.ended());
  assertEquals(app.requests.length, 0);
});

Deno.test("http: keepAliveTimeoutMs closes a kept-alive connection that sends nothing more", async () => {
  await using app = recording(hello, { keepAliveTimeoutMs: 150 });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  await client.response();
  assertEquals(await client.ended(50), false, "still open within the timeout");
  assert(await client.ended(2000), "closed after it");
});

Deno.test("http: a request begun within keepAliveTimeoutMs has handshakeTimeoutMs for its head", async () => {
  await using app = recording(hello, { keepAliveTimeoutMs: 150, handshakeTimeoutMs: 600 });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  await client.response();
  await client.write("GET /late HTTP/1.1\r\n");
  await delay(300);
  await client.write("Host: a\r\n\r\n");
  assertEquals((await client.response()).body, "hello /late");
});

Deno.test("http: a fetch that throws gets 500, onError hears, and the connection goes on", async () => {
  await using app = recording((request) => {
    if (new URL(request.url).pathname === "/fail") throw new Error("the handler broke");
    return new Response("fine");
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET /fail HTTP/1.1", "Host: a"));
  const failed = await client.response();
  assertEquals([failed.status, failed.body], [500, "internal server error\n"]);
  assertEquals((app.errors[0] as Error).message, "the handler broke");
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).body, "fine");
});

Deno.test("http: a fetch that returns no Response, or an unsendable one, gets 500 and onError", async () => {
  const answers: Record<string, () => unknown> = {
    "/nothing": () => undefined,
    "/string": () => "a string",
    "/bad-length": () => new Response("four", { headers: { "content-length": "5" } }),
    "/bad-coding": () => new Response("x", { headers: { "transfer-encoding": "gzip" } }),
    "/bad-chunk": () =>
      new Response(
        new ReadableStream<unknown>({
          start: (c) => (c.enqueue("text"), c.close()),
        }) as ReadableStream<Uint8Array>,
      ),
  };
  await using app = recording((request) => answers[new URL(request.url).pathname]() as Response);
  await using client = await HttpClient.connect(app.server.port);
  for (const path of Object.keys(answers)) {
    await client.write(requestBytes(`GET ${path} HTTP/1.1`, "Host: a"));
    assertEquals((await client.response()).status, 500, path);
  }
  assertEquals(app.errors.length, 5);
  for (const error of app.errors) assertInstanceOf(error, TypeError);
});

Deno.test("http: a response body that fails once sent ends the connection, and onError hears", async () => {
  await using app = recording(() =>
    new Response(
      new ReadableStream({
        async pull(controller) {
          controller.enqueue(new TextEncoder().encode("part"));
          await delay(20);
          controller.error(new Error("the source failed"));
        },
      }),
    )
  );
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  await assertRejectsWith(client.response(), "mid-response");
  assertEquals((app.errors[0] as Error).message, "the source failed");
});

async function assertRejectsWith(promise: Promise<unknown>, text: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert(String(error).includes(text), String(error));
    return;
  }
  throw new Error("it did not fail");
}

Deno.test("http: a method a fetch Request cannot carry gets 501", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("TRACE / HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).status, 501);
  assert(await client.ended());
  assertEquals(app.requests.length, 0);
});

Deno.test("http: smuggling and malformed requests get 400 and the end of TCP, and reach no application", async (t) => {
  await using app = recording(hello);
  for (const refused of REFUSED) {
    await t.step(`${refused.name}: ${refused.status ?? 400}`, async () => {
      await assertRefused(app.server.port, refused);
      assertEquals(app.requests.map((request) => request.url), []);
    });
  }
});

Deno.test("http: an upgrade request with a body gets 400", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  const upgrade = new TextDecoder().decode(upgradeRequest("/", "Content-Length: 2\r\n"));
  await client.write(upgrade + "hi");
  assertEquals((await client.response()).status, 400);
  assert(await client.ended());
});

Deno.test("http: a kept-alive connection becomes a WebSocket on its next request", async () => {
  await using app = recording(hello);
  await using client = await HttpClient.connect(app.server.port);
  await client.write(requestBytes("GET /first HTTP/1.1", "Host: a"));
  assertEquals((await client.response()).body, "hello /first");
  await client.write(upgradeRequest());
  assertEquals((await client.response()).status, 101);
  const peer = new RawPeer(client.conn, "client");
  await peer.write(frame(Opcode.Text, "now a WebSocket"));
  assertEquals(await peer.nextText(), "now a WebSocket");
});

Deno.test("http: without fetch, the test page at /, 404 elsewhere, 405 for other methods, kept alive", async () => {
  await using server = startServer({ page: "<p>page</p>" }, echo);
  await using client = await HttpClient.connect(server.port);
  const answers: [string, number, string][] = [];
  for (const [method, path] of [["GET", "/"], ["GET", "/x"], ["DELETE", "/"]]) {
    await client.write(requestBytes(`${method} ${path} HTTP/1.1`, "Host: a"));
    const response = await client.response(method);
    answers.push([`${method} ${path}`, response.status, response.body]);
    if (response.status === 405) assertEquals(response.headers.get("allow"), "GET, HEAD");
  }
  assertEquals(answers, [
    ["GET /", 200, "<p>page</p>"],
    ["GET /x", 404, "not found\n"],
    ["DELETE /", 405, "method not allowed\n"],
  ]);
});

Deno.test("http: shutdown closes idle kept-alive connections, and answers the one under way with Connection: close", async () => {
  const answering = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const app = recording(async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      answering.resolve();
      await release.promise;
    }
    return new Response("done");
  });
  const idle = await HttpClient.connect(app.server.port);
  await idle.write(requestBytes("GET / HTTP/1.1", "Host: a"));
  await idle.response();
  const busy = await HttpClient.connect(app.server.port);
  await busy.write(requestBytes("GET /slow HTTP/1.1", "Host: a"));
  await withTimeout(answering.promise, "the slow request");
  const finished = app.server.server.shutdown();
  assert(await idle.ended(), "the idle connection is closed");
  await idle[Symbol.asyncDispose]();
  release.resolve();
  const response = await busy.response();
  assertEquals([response.body, response.headers.get("connection")], ["done", "close"]);
  assert(await busy.ended());
  // The server waits for the client to hang up too.
  await busy[Symbol.asyncDispose]();
  await withTimeout(finished, "the shutdown");
});

Deno.test("http: at shutdown, a fetch that never answers, or a body that never ends, is given up after closeTimeoutMs", async () => {
  const app = recording(
    (request) =>
      new URL(request.url).pathname === "/never"
        ? new Promise<Response>(() => {})
        : new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array([0x61])) })),
    { closeTimeoutMs: 200 },
  );
  await using never = await HttpClient.connect(app.server.port);
  await never.write(requestBytes("GET /never HTTP/1.1", "Host: a"));
  await using endless = await HttpClient.connect(app.server.port);
  await endless.write(requestBytes("GET /endless HTTP/1.1", "Host: a"));
  await delay(50);
  const started = performance.now();
  await withTimeout(app.server.server.shutdown(), "the shutdown", 3000);
  assert(performance.now() - started >= 150, "the exchanges were given their closeTimeoutMs");
  assert(await never.ended());
});

Deno.test("http: the request's fields reach fetch as sent, repeated ones joined, whatever their names", async () => {
  let seen: Headers | undefined;
  await using app = recording((request) => {
    seen = request.headers;
    return new Response("ok");
  });
  await using client = await HttpClient.connect(app.server.port);
  await client.write(
    requestBytes("GET / HTTP/1.1", "Host: a", "X-A: 1", "x-a: 2", "Constructor: c", "__proto__: p"),
  );
  await client.response();
  assertEquals([...seen!], [["__proto__", "p"], ["constructor", "c"], ["host", "a"], [
    "x-a",
    "1, 2",
  ]]);
});
