/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): a client that waits for a go-ahead before it sends
 * a request's body, and the interim response that gives it.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import type { RequestHead } from "./http1.ts";

const encoder = new TextEncoder();

/**
 * Whether the client of `head` waits for a `100 Continue` before it sends the body. Send one
 * (see {@linkcode continueResponse}) only when the body is framed (not `none`) and is about to
 * be read: RFC 9110 §10.1.1 lets a server that will not read it answer at once instead. An
 * HTTP/1.0 client is never sent one (RFC 9110 §15.2), so its `100-continue` is ignored, as
 * RFC 9110 §10.1.1 requires. Expectations are case-insensitive; an empty `Expect` expects nothing.
 *
 * @throws {HandshakeError} 417 for any expectation but `100-continue` (RFC 9110 §10.1.1 allows
 * it; the server knows of no other, so none can be met).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { expectsContinue } from "./expect.ts";
 * const headers = new Headers({ expect: "100-continue", "content-length": "5" });
 * assertEquals(expectsContinue({ method: "PUT", target: "/", version: "HTTP/1.1", headers }), true);
 * ```
 */
export function expectsContinue(head: RequestHead): boolean {
  const value = head.headers.get("expect");
  if (value === null) return false;
  const expectations = value.split(",").map((item) =>
    item.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase()
  ).filter((item) => item !== "");
  const unmet = expectations.find((expectation) => expectation !== "100-continue");
  if (unmet !== undefined) {
    throw new HandshakeError(417, `unsupported expectation ${JSON.stringify(unmet.slice(0, 40))}`);
  }
  return expectations.length > 0 && head.version >= "HTTP/1.1";
}

/**
 * The interim response `HTTP/1.1 100 Continue` (RFC 9110 §15.2.1), as fresh bytes: the go-ahead
 * for a client that {@linkcode expectsContinue}, written before the final response.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { continueResponse } from "./expect.ts";
 * assertEquals(new TextDecoder().decode(continueResponse()), "HTTP/1.1 100 Continue\r\n\r\n");
 * ```
 */
export function continueResponse(): Uint8Array {
  return encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
}
