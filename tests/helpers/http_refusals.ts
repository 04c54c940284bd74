/**
 * Requests a server must refuse before any application sees them: those that two parsers could
 * frame differently (request smuggling) and those that break RFC 9112's grammar, each with the
 * status it gets; and the check that one is refused, over a raw socket.
 */

import { assert, assertEquals } from "@std/assert";
import { HttpClient } from "./http_client.ts";

/** One request to refuse. */
export interface Refused {
  name: string;
  /** The bytes sent, as text. */
  request: string;
  /** The status it gets. @default {400} */
  status?: number;
}

/**
 * Requests that two parsers could read differently (request smuggling) or that break RFC 9112's
 * grammar: each gets 400 (or the status given) and the end of TCP, and a request sent after it in
 * the same write is never answered; the application sees none of it.
 */
export const REFUSED: Refused[] = [
  {
    name: "Content-Length with Transfer-Encoding",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\n",
  },
  {
    name: "two different Content-Lengths",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
  },
  {
    name: "a list of different Content-Lengths",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nabcdef",
  },
  {
    name: "a Content-Length with a sign",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nabcde",
  },
  {
    name: "Transfer-Encoding gzip (not ending with chunked)",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc",
  },
  {
    name: "Transfer-Encoding chunked twice",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
  },
  {
    name: "Transfer-Encoding gzip, chunked (a coding this server does not decode)",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    status: 501,
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    request: "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size with a sign",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size in 0x form",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size after a space",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size of 17 digits",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "00000000000000005\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size followed by junk",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "a chunk size line ending in a bare LF",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "chunk data longer than its size",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",
  },
  {
    name: "obsolete line folding",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
  },
  {
    name: "a bare CR in a field",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\rX-B: two\r\n\r\n",
  },
  {
    name: "bare LF line ends",
    request: "GET / HTTP/1.1\nHost: a\n\n",
  },
  {
    name: "a request line with two spaces",
    request: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
  },
  {
    name: "a request line with something after the version",
    request: "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n",
  },
  {
    name: "a request line with a malformed version",
    request: "GET / HTTP/one\r\nHost: a\r\n\r\n",
  },
  {
    name: "a method that is not a token",
    request: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
  },
  {
    name: "a space before a field's colon",
    request: "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
  },
  {
    name: "a field name that is not a token",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX[A]: b\r\n\r\n",
  },
  {
    name: "a control character in a field value",
    request: "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n",
  },
  {
    name: "no Host",
    request: "GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
  },
];

/**
 * Sends `refused.request`, with a second request right behind it in the same write, to the
 * server on `port`, and checks that the answer is its status with `Connection: close`, then the
 * end of TCP: the second request is never answered.
 */
export async function assertRefused(
  port: number,
  { request, status = 400 }: Refused,
): Promise<void> {
  await using client = await HttpClient.connect(port);
  await client.write(request + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  const response = await client.response();
  assertEquals(response.status, status, response.body);
  assertEquals(response.headers.get("connection"), "close");
  assert(await client.ended(), "TCP ends after the refusal");
}
