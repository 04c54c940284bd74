/**
 * A request's body over an in-memory connection: read only as the application pulls, decoded
 * however its bytes are split, `100 Continue` before the first read that needs it, malformed
 * bodies refused, and the bytes after it handed on.
 */

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { createBodyDecoder } from "../src/protocol/body_decoder.ts";
import type { BodyFraming } from "../src/protocol/body_framing.ts";
import { HandshakeError } from "../src/protocol/errors.ts";
import { ReadBuffer } from "../src/read_loop.ts";
import { RequestBody } from "../src/request_body.ts";
import type { Transport } from "../src/transport.ts";
import { settle } from "./helpers/fake_clock.ts";
import { MemoryTransport } from "./helpers/memory_transport.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The server's end of an in-memory connection, counting its reads, and the client's end. */
function connection() {
  const [server, client] = MemoryTransport.pair();
  const counted = {
    reads: 0,
    remoteAddr: server.remoteAddr,
    read(buffer: Uint8Array) {
      counted.reads++;
      return server.read(buffer);
    },
    write: (bytes: Uint8Array) => server.write(bytes),
    closeWrite: () => server.closeWrite(),
    close: () => server.close(),
  } satisfies Transport & { reads: number };
  return { server: counted, client };
}

/** What the client end is sent: `take()` gives what came since the last call, once settled. */
function received(client: MemoryTransport) {
  let text = "";
  (async () => {
    const buffer = new Uint8Array(1024);
    for (let count; (count = await client.read(buffer).catch(() => null)) !== null;) {
      text += decoder.decode(buffer.subarray(0, count));
    }
  })();
  return {
    async take(): Promise<string> {
      await settle();
      const taken = text;
      text = "";
      return taken;
    },
  };
}

function body(
  transport: Transport,
  framing: BodyFraming,
  buffered: string,
  { expectsContinue = false, exposed = true } = {},
): RequestBody {
  return new RequestBody(
    transport,
    new ReadBuffer(),
    createBodyDecoder(framing, { maxBodyBytes: 1024 }),
    encoder.encode(buffered),
    { expectsContinue, exposed },
  );
}

Deno.test("request body: a body that came with its head is read without reading the connection", async () => {
  const { server } = connection();
  const request = body(server, { kind: "length", length: 5 }, "helloGET / HTTP/1.1\r\n");
  assertEquals([request.done, decoder.decode(request.rest)], [true, "GET / HTTP/1.1\r\n"]);
  assertEquals(await new Response(request.stream).text(), "hello");
  assertEquals(server.reads, 0);
});

Deno.test("request body: nothing is read from the connection until the application pulls", async () => {
  const { server, client } = connection();
  const request = body(server, { kind: "length", length: 6 }, "");
  await client.write(encoder.encode("abcdef"));
  await settle();
  assertEquals([server.reads, request.done], [0, false]);
  const reader = request.stream!.getReader();
  assertEquals(decoder.decode((await reader.read()).value), "abcdef");
  assertEquals([server.reads, request.done], [1, true]);
  assertEquals((await reader.read()).done, true);
});

Deno.test("request body: a chunked body split anywhere comes out whole, and the rest after it", async () => {
  const bytes = "4;x=1\r\nWiki\r\n6\r\npedia \r\n0\r\nTrailer: t\r\n\r\nNEXT";
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { server, client } = connection();
    const request = body(server, { kind: "chunked" }, bytes.slice(0, cut));
    const text = new Response(request.stream).text();
    // The rest comes a byte at a time.
    for (const byte of encoder.encode(bytes.slice(cut))) await client.write(new Uint8Array([byte]));
    client.close();
    assertEquals(await text, "Wikipedia ", `cut at ${cut}`);
    assert(request.done);
    // Bytes after the body that came in the same read are its rest; later ones stay unread.
    assertEquals("NEXT".startsWith(decoder.decode(request.rest)), true, `cut at ${cut}`);
  }
});

Deno.test("request body: a body the application is not given is decoded and dropped", () => {
  const { server } = connection();
  const request = body(server, { kind: "chunked" }, "3\r\nabc\r\n0\r\n\r\nGET", { exposed: false });
  assertEquals([request.stream, request.done, decoder.decode(request.rest)], [null, true, "GET"]);
});

Deno.test("request body: 100 Continue goes out before the first read, once", async () => {
  const { server, client } = connection();
  const sent = received(client);
  const request = body(server, { kind: "length", length: 4 }, "", { expectsContinue: true });
  assertEquals(await sent.take(), "", "nothing before the application reads");
  const text = new Response(request.stream).text();
  assertEquals(await sent.take(), "HTTP/1.1 100 Continue\r\n\r\n");
  await client.write(encoder.encode("body"));
  assertEquals(await text, "body");
  await request.responseBegins();
  assertEquals(await sent.take(), "");
});

Deno.test("request body: no 100 Continue once the response has begun, nor to a client that sent body bytes", async () => {
  {
    const { server, client } = connection();
    const sent = received(client);
    const request = body(server, { kind: "length", length: 4 }, "", { expectsContinue: true });
    await request.responseBegins();
    const text = new Response(request.stream).text();
    await client.write(encoder.encode("late"));
    assertEquals(await text, "late");
    assertEquals(await sent.take(), "");
  }
  const { server, client } = connection();
  const sent = received(client);
  const request = body(server, { kind: "length", length: 4 }, "bo", { expectsContinue: true });
  const text = new Response(request.stream).text();
  await client.write(encoder.encode("dy"));
  assertEquals(await text, "body");
  assertEquals(await sent.take(), "");
});

Deno.test("request body: a malformed start in the bytes with the head is refused at once with 400", () => {
  const { server } = connection();
  const error = assertThrows(() => body(server, { kind: "chunked" }, "zz\r\n"), HandshakeError);
  assertEquals(error.status, 400);
});

Deno.test("request body: a malformed chunk that comes later errors the stream, and error says 400", async () => {
  const { server, client } = connection();
  const request = body(server, { kind: "chunked" }, "2\r\nok\r\n");
  const reader = request.stream!.getReader();
  assertEquals(decoder.decode((await reader.read()).value), "ok");
  await client.write(encoder.encode("-1\r\n"));
  const error = await assertRejects(() => reader.read(), HandshakeError);
  assertEquals([error.status, request.error], [400, error]);
});

Deno.test("request body: a chunked body past maxBodyBytes errors the stream with 413", async () => {
  const { server, client } = connection();
  const request = body(server, { kind: "chunked" }, "");
  const text = new Response(request.stream).text();
  await client.write(encoder.encode("401\r\n"));
  await assertRejects(() => text);
  assertEquals(request.error?.status, 413);
});

Deno.test("request body: the connection ending before the body errors the stream", async () => {
  const { server, client } = connection();
  const request = body(server, { kind: "length", length: 10 }, "abc");
  const text = new Response(request.stream).text();
  client.close();
  const error = await assertRejects(() => text);
  assertInstanceOf(error, TypeError);
  assertEquals([request.done, request.error], [false, null]);
});

Deno.test("request body: stop() hands back the read under way, and reads no more", async () => {
  const { server, client } = connection();
  const request = body(server, { kind: "length", length: 10 }, "");
  const reader = request.stream!.getReader();
  const read = reader.read();
  await settle();
  const reading = request.stop();
  assert(reading !== null, "a read is under way");
  await client.write(encoder.encode("abc"));
  await reading;
  await assertRejects(() => read);
  assertEquals(server.reads, 1);
});
