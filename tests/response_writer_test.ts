/**
 * Writing fetch `Response`s over an in-memory connection, checked byte for byte: the framing a
 * body gets (its length when it ends before the head goes, chunked while it streams, the end of
 * the connection for HTTP/1.0, nothing for HEAD and 204), the `Date` field, and what becomes of
 * responses that cannot be sent as they are.
 */

import { assertEquals, assertInstanceOf, assertMatch } from "@std/assert";
import type { AnsweredRequest } from "../src/protocol/http_response.ts";
import { writeResponse } from "../src/response_writer.ts";
import type { Transport } from "../src/transport.ts";
import { settle } from "./helpers/fake_clock.ts";
import { MemoryTransport } from "./helpers/memory_transport.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const GET: AnsweredRequest = { method: "GET", version: "HTTP/1.1", headers: new Headers() };

/**
 * Writes `response` as the answer to `request` and returns what went on the wire (the `Date`
 * field's value replaced by `<date>`), how many writes it took, whether the connection may go
 * on, and what `onError` heard.
 */
async function written(
  response: Response,
  { request = GET, keepAlive = true }: { request?: AnsweredRequest; keepAlive?: boolean } = {},
) {
  const [server, client] = MemoryTransport.pair();
  let writes = 0;
  const counted: Transport = {
    remoteAddr: server.remoteAddr,
    read: (buffer) => server.read(buffer),
    write: (bytes) => (writes++, server.write(bytes)),
    closeWrite: () => server.closeWrite(),
    close: () => server.close(),
  };
  const errors: unknown[] = [];
  const keptOn = await writeResponse(counted, response, {
    request,
    beforeHead: () => Promise.resolve(keepAlive),
    onError: (error) => void errors.push(error),
  });
  server.close();
  let wire = "";
  const buffer = new Uint8Array(64 * 1024);
  for (let count; (count = await client.read(buffer)) !== null;) {
    wire += decoder.decode(buffer.subarray(0, count), { stream: true });
  }
  const date = /\r\ndate: ([^\r]*)\r\n/.exec(wire)?.[1];
  if (date) assertMatch(date, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  return {
    wire: wire.replace(/\r\ndate: [^\r]*\r\n/, "\r\ndate: <date>\r\n"),
    raw: wire,
    writes,
    keptOn,
    errors,
  };
}

Deno.test("response writer: a body that ends at once goes with Content-Length, head and body in one write", async () => {
  const { wire, writes, keptOn } = await written(
    new Response("hello", { headers: { "content-type": "text/plain", "x-a": "1" } }),
  );
  assertEquals(
    wire,
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\ndate: <date>\r\n" +
      "Content-Length: 5\r\n\r\nhello",
  );
  assertEquals([writes, keptOn], [1, true]);
});

Deno.test("response writer: a large body in one chunk still gets its Content-Length", async () => {
  const { wire } = await written(new Response(new Uint8Array(1024 * 1024)));
  assertEquals(/Content-Length: (\d+)/.exec(wire)?.[1], String(1024 * 1024));
});

Deno.test("response writer: a body that waits goes chunked, each chunk as it comes", async () => {
  const { wire, keptOn } = await written(
    new Response(
      new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(encoder.encode("later"));
          controller.enqueue(encoder.encode(", more"));
          controller.close();
        },
      }),
      { status: 201, statusText: "Made" },
    ),
  );
  assertEquals(
    wire,
    "HTTP/1.1 201 Made\r\ndate: <date>\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\nlater\r\n6\r\n, more\r\n0\r\n\r\n",
  );
  assertEquals(keptOn, true);
});

Deno.test("response writer: to an HTTP/1.0 client a streamed body ends with the connection", async () => {
  const request = {
    ...GET,
    version: "HTTP/1.0",
    headers: new Headers({ connection: "keep-alive" }),
  };
  const { wire, keptOn } = await written(
    new Response(
      new ReadableStream({
        async pull(controller) {
          await settle();
          controller.enqueue(encoder.encode("old"));
          controller.close();
        },
      }),
    ),
    { request },
  );
  assertEquals(wire, "HTTP/1.1 200 OK\r\ndate: <date>\r\nConnection: close\r\n\r\nold");
  assertEquals(keptOn, false);
});

Deno.test("response writer: HEAD gets the head with the length a GET would, and no body", async () => {
  const { wire, keptOn } = await written(new Response(encoder.encode("twelve bytes")), {
    request: { ...GET, method: "HEAD" },
  });
  assertEquals(
    wire,
    "HTTP/1.1 200 OK\r\ndate: <date>\r\nContent-Length: 12\r\n\r\n",
  );
  assertEquals(keptOn, true);
});

Deno.test("response writer: 204 and 304 have no body", async () => {
  assertEquals(
    (await written(new Response(null, { status: 204 }))).wire,
    "HTTP/1.1 204 No Content\r\ndate: <date>\r\n\r\n",
  );
  assertEquals(
    (await written(new Response(null, { status: 304, headers: { etag: '"x"' } }))).wire,
    'HTTP/1.1 304 Not Modified\r\netag: "x"\r\ndate: <date>\r\n\r\n',
  );
});

Deno.test("response writer: the server not keeping the connection says Connection: close", async () => {
  const { wire, keptOn } = await written(new Response(null), { keepAlive: false });
  assertEquals(
    wire,
    "HTTP/1.1 200 OK\r\ndate: <date>\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  );
  assertEquals(keptOn, false);
});

Deno.test("response writer: the application's Date is kept", async () => {
  const date = "Sun, 06 Nov 1994 08:49:37 GMT";
  const { raw } = await written(new Response(null, { headers: { date } }));
  assertEquals(raw, `HTTP/1.1 200 OK\r\ndate: ${date}\r\nContent-Length: 0\r\n\r\n`);
});

Deno.test("response writer: a Content-Length given for a stream frames it", async () => {
  const { wire, keptOn, errors } = await written(
    new Response(
      new ReadableStream({
        async pull(controller) {
          await settle();
          controller.enqueue(encoder.encode("abc"));
          controller.close();
        },
      }),
      { headers: { "content-length": "3" } },
    ),
  );
  assertEquals(wire, "HTTP/1.1 200 OK\r\ndate: <date>\r\nContent-Length: 3\r\n\r\nabc");
  assertEquals([keptOn, errors], [true, []]);
});

Deno.test("response writer: a stream longer or shorter than its Content-Length ends the connection", async () => {
  for (const [declared, sent] of [["2", "abc"], ["5", "abc"]]) {
    const { wire, keptOn, errors } = await written(
      new Response(
        new ReadableStream({
          async pull(controller) {
            await settle();
            controller.enqueue(encoder.encode(sent));
            controller.close();
          },
        }),
        { headers: { "content-length": declared } },
      ),
    );
    assertEquals(
      wire,
      `HTTP/1.1 200 OK\r\ndate: <date>\r\nContent-Length: ${declared}\r\n\r\n` +
        sent.slice(0, Number(declared)),
    );
    assertEquals(keptOn, false);
    assertInstanceOf(errors[0], TypeError);
  }
});

Deno.test("response writer: a response that cannot be sent is answered 500, and onError hears", async () => {
  const cases = [
    new Response("abc", { headers: { "content-length": "4" } }),
    new Response("abc", { headers: { "transfer-encoding": "gzip" } }),
    new Response(
      new ReadableStream<unknown>({
        start: (c) => (c.enqueue("a string"), c.close()),
      }) as ReadableStream<Uint8Array>,
    ),
    new Response(new ReadableStream({ start: (c) => c.error(new Error("broken")) })),
  ];
  for (const response of cases) {
    const { wire, keptOn, errors } = await written(response);
    assertEquals(
      wire,
      "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n" +
        "date: <date>\r\nContent-Length: 22\r\n\r\ninternal server error\n",
    );
    assertEquals([keptOn, errors.length], [true, 1]);
  }
});
