import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { createBodyDecoder, LengthDecoder } from "../../src/protocol/body_decoder.ts";
import { ChunkedDecoder } from "../../src/protocol/chunked.ts";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { bytewise, concat, splits } from "../helpers/frames.ts";
import { decodeAll } from "./body_helpers.ts";

const encoder = new TextEncoder();
const NEXT = encoder.encode("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");

Deno.test("length decoder: takes exactly its length at every split and leaves what follows", () => {
  // The body holds what would be framing elsewhere: a length decoder does not look at it.
  const body = encoder.encode("0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  const bytes = concat(body, NEXT);
  for (const pieces of [...splits(bytes), bytewise(bytes)]) {
    const decoder = new LengthDecoder(body.length);
    assertEquals(decodeAll(decoder, pieces), { body, done: true, rest: NEXT });
    assertEquals(decoder.received, body.length);
  }
});

Deno.test("length decoder: a body that stops short is not done, and says how much came", () => {
  const decoder = new LengthDecoder(10);
  assertEquals(decodeAll(decoder, bytewise(encoder.encode("hello"))).done, false);
  assertEquals([decoder.done, decoder.received], [false, 5]);
});

Deno.test("length decoder: a read that is all body comes back as it is", () => {
  const read = encoder.encode("hello");
  const decoded = new LengthDecoder(10).push(read);
  assertEquals([decoded.data.length, decoded.data[0] === read, decoded.done], [1, true, false]);
  assertEquals(decoded.rest.length, 0);
});

Deno.test("length decoder: a body of 0 bytes is done before any read, and every read is rest", () => {
  const decoder = new LengthDecoder(0);
  assertEquals([decoder.done, decoder.received], [true, 0]);
  assertEquals(decoder.push(NEXT), { data: [], done: true, rest: NEXT });
});

Deno.test("body decoder: each framing gets its decoder", () => {
  const none = createBodyDecoder({ kind: "none" });
  assertInstanceOf(none, LengthDecoder);
  assertEquals(none.done, true);
  const length = createBodyDecoder({ kind: "length", length: 3 });
  assertInstanceOf(length, LengthDecoder);
  assertEquals(decodeAll(length, [encoder.encode("abcd")]), {
    body: encoder.encode("abc"),
    done: true,
    rest: encoder.encode("d"),
  });
  assertInstanceOf(createBodyDecoder({ kind: "chunked" }), ChunkedDecoder);
});

Deno.test("body decoder: a chunked decoder gets the options it is given", () => {
  const decoder = createBodyDecoder({ kind: "chunked" }, { maxBodyBytes: 4 });
  const error = assertThrows(() => decoder.push(encoder.encode("5\r\n")));
  assertInstanceOf(error, HandshakeError);
  assertEquals([error.status, error.message], [413, "the body is larger than 4 bytes"]);
});
