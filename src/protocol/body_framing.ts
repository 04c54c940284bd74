/**
 * How a request's body is delimited (RFC 9112 §6): not at all, by `Content-Length`, or by the
 * chunked transfer coding. Every head that two parsers could frame differently is refused, as
 * that difference is how one request is smuggled inside another.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { isToken, type RequestHead } from "./http1.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./limits.ts";

/**
 * How a request's body is delimited: `none` (no body at all, RFC 9112 §6.3 item 7), `length`
 * (exactly `length` bytes, which may be 0) or `chunked` (RFC 9112 §7.1).
 *
 * @example
 * ```ts
 * import type { BodyFraming } from "./body_framing.ts";
 * const framing: BodyFraming = { kind: "length", length: 5 };
 * ```
 */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" };

/** Options of {@linkcode requestBodyFraming}. */
export interface BodyFramingOptions {
  /** The largest body, in bytes; a larger `Content-Length` is 413. @default {64 MiB} */
  maxBodyBytes?: number;
}

const NO_BODY: BodyFraming = { kind: "none" };
const CHUNKED: BodyFraming = { kind: "chunked" };
const DIGITS = /^[0-9]+$/;

/**
 * The value of a `Content-Length` field (RFC 9110 §8.6), or null when it is not one: decimal
 * digits alone, no sign, no spaces inside, at most `Number.MAX_SAFE_INTEGER`. The same digits
 * repeated as a list (`5, 5`, which is also how repeated field lines arrive once joined) are the
 * one value, as RFC 9110 §8.6 allows; differing ones are null, as is an empty element. Repeats
 * must be spelled alike (`5, 05` is null), as Go's server requires too.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseContentLength } from "./body_framing.ts";
 * assertEquals(parseContentLength("42"), 42);
 * assertEquals(parseContentLength("42, 42"), 42);
 * assertEquals(parseContentLength("42, 43"), null);
 * assertEquals(parseContentLength("-1"), null);
 * ```
 */
export function parseContentLength(value: string): number | null {
  const [first, ...others] = value.split(",").map((item) => item.replace(/^[ \t]+|[ \t]+$/g, ""));
  if (!DIGITS.test(first) || others.some((other) => other !== first)) return null;
  const length = Number(first);
  return Number.isSafeInteger(length) ? length : null;
}

/**
 * How the body of the request with `head` is delimited (RFC 9112 §6.3).
 *
 * Refused, as RFC 9112 §6.1 and §6.3 direct or allow, and as request smuggling needs one of them:
 * `Transfer-Encoding` in an HTTP/1.0 request; `Transfer-Encoding` with `Content-Length`; a
 * `Transfer-Encoding` that does not end with `chunked`, or names it twice (the last coding frames
 * the body, so nothing else can be trusted); a `Content-Length` that {@linkcode parseContentLength}
 * does not read. Elements of `Transfer-Encoding` are case-insensitive, and empty ones are skipped
 * (RFC 9110 §5.6.1). A server answering any of these errors must close the connection after the
 * answer: where the next request starts is unknown.
 *
 * @throws {HandshakeError} 400 for the cases above; 501 for a coding before `chunked` that this
 * server does not decode (`gzip, chunked`: RFC 9112 §6.1, as Go's server answers); 413 for a
 * `Content-Length` over `maxBodyBytes`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { requestBodyFraming } from "./body_framing.ts";
 * const headers = new Headers({ host: "a", "content-length": "5" });
 * const framing = requestBodyFraming({ method: "POST", target: "/", version: "HTTP/1.1", headers });
 * assertEquals(framing, { kind: "length", length: 5 });
 * ```
 */
export function requestBodyFraming(
  head: RequestHead,
  options: BodyFramingOptions = {},
): BodyFraming {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const transferEncoding = head.headers.get("transfer-encoding");
  const contentLength = head.headers.get("content-length");
  if (transferEncoding !== null) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing, and with Content-Length
    // one of the two is read by someone; refusing both leaves nothing to disagree on.
    if (head.version < "HTTP/1.1") throw badFraming("Transfer-Encoding in an HTTP/1.0 request");
    if (contentLength !== null) throw badFraming("both Content-Length and Transfer-Encoding");
    checkTransferCodings(transferEncoding);
    return CHUNKED;
  }
  if (contentLength === null) return NO_BODY;
  const length = parseContentLength(contentLength);
  if (length === null) throw badFraming("malformed Content-Length");
  if (length > maxBodyBytes) {
    throw new HandshakeError(413, `the body is larger than ${maxBodyBytes} bytes`);
  }
  return { kind: "length", length };
}

/** Checks that `Transfer-Encoding` is `chunked` alone; see {@linkcode requestBodyFraming}. */
function checkTransferCodings(value: string): void {
  const codings = value.split(",").map((item) => item.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase())
    .filter((item) => item !== "");
  // RFC 9112 §6.3 item 4: unless chunked is the final coding, the body's end is unknown.
  if (codings.pop() !== "chunked") throw badFraming("Transfer-Encoding does not end with chunked");
  // RFC 9112 §7: a coding is a token with optional parameters; chunked takes no parameters and
  // is applied once (RFC 9112 §6.1).
  const names = codings.map((coding) => coding.split(";")[0].replace(/[ \t]+$/, ""));
  if (names.includes("chunked")) throw badFraming("chunked applied twice");
  if (!names.every(isToken)) throw badFraming("malformed Transfer-Encoding");
  if (names.length > 0) {
    throw new HandshakeError(501, `unsupported transfer coding ${JSON.stringify(names[0])}`);
  }
}

function badFraming(message: string): HandshakeError {
  return new HandshakeError(400, `ambiguous or malformed body framing: ${message}`);
}
