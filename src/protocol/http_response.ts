/**
 * The head of an HTTP/1.1 response to any request (RFC 9112 §4–§6, §9.3): status line, the
 * application's header fields, and the framing of the body, chosen here so that the application
 * cannot break it.
 *
 * @module
 */

import { parseContentLength } from "./body_framing.ts";
import { fieldLines } from "./handshake.ts";
import { isToken } from "./http1.ts";
import { isPersistent, type PersistenceHead } from "./persistence.ts";
import { statusText } from "./status_text.ts";

/** What {@linkcode encodeResponseHead} needs of the request it answers. */
export interface AnsweredRequest extends PersistenceHead {
  /** The request's method: a `HEAD` is answered without a body. */
  method: string;
}

/** What {@linkcode encodeResponseHead} writes the head of. */
export interface ResponseHeadInit {
  /** The status code: 100 to 599, but not 101, which the WebSocket handshake writes. */
  status: number;
  /** The reason phrase; "" for the registered one ({@linkcode statusText}). @default {""} */
  statusText?: string;
  /**
   * The application's header fields: a `Headers`, or pairs in the order they are written.
   * `Content-Length`, `Transfer-Encoding` and `Connection` among them are read, checked against
   * the body and rewritten; see {@linkcode encodeResponseHead}.
   * @default {[]}
   */
  headers?: Iterable<readonly [string, string]>;
  /** The body's length in bytes, 0 for none, or null when unknown until it is sent (a stream). */
  bodyLength: number | null;
  /** The request answered. */
  request: AnsweredRequest;
  /**
   * Whether the server is willing to keep the connection after this response: false when it is
   * shutting down, or will not read the rest of the request's body.
   * @default {true}
   */
  keepAlive?: boolean;
}

/**
 * How the body goes after the head: `none` (nothing at all, whatever the application gave),
 * `length` (exactly `length` bytes), `chunked` (each piece through `encodeChunk`, then
 * `lastChunk()`), or `close` (the bytes as they come; closing the connection ends the body).
 */
export type ResponseBodyFraming = "none" | "length" | "chunked" | "close";

/** A response head from {@linkcode encodeResponseHead}, and how to write what follows it. */
export interface EncodedResponseHead {
  /** The head: status line, header fields, blank line. */
  bytes: Uint8Array;
  /** How the body is written. */
  framing: ResponseBodyFraming;
  /** The bytes of body to write for `length`; 0 otherwise. */
  length: number;
  /** Whether to close the connection once the body is written. */
  close: boolean;
}

/** The application's fields, with those that frame the message taken apart. */
interface SortedFields {
  /** Every other field, in order. */
  fields: [string, string][];
  contentLength: string | null;
  transferEncoding: string | null;
  /** The options of `Connection` but `close` and `keep-alive`, which are the server's to write. */
  connectionOptions: string[];
  /** Whether `Connection` holds `close`. */
  close: boolean;
}

// RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
const REASON = /^[\t \x21-\x7e\x80-\xff]*$/;

/** Joins a repeated field as `Headers` does. */
function joined(before: string | null, value: string): string {
  return before === null ? value : `${before}, ${value}`;
}

function sortFields(headers: Iterable<readonly [string, string]>): SortedFields {
  const sorted: SortedFields = {
    fields: [],
    contentLength: null,
    transferEncoding: null,
    connectionOptions: [],
    close: false,
  };
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "content-length") sorted.contentLength = joined(sorted.contentLength, value);
    else if (lower === "transfer-encoding") {
      sorted.transferEncoding = joined(sorted.transferEncoding, value);
    } else if (lower === "connection") {
      for (const item of value.split(",")) {
        const option = item.replace(/^[ \t]+|[ \t]+$/g, "");
        if (option === "") continue;
        if (!isToken(option)) {
          throw new TypeError(`invalid Connection option ${JSON.stringify(option)}`);
        }
        const lowerOption = option.toLowerCase();
        if (lowerOption === "close") sorted.close = true;
        else if (lowerOption !== "keep-alive") sorted.connectionOptions.push(option);
      }
    } else sorted.fields.push([name, value]);
  }
  return sorted;
}

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex -- everything past ASCII is what it looks for
const NON_ASCII = /[^\x00-\x7f]/;

/** Latin-1 bytes of a head: header fields are octets (RFC 9110 §5.5), one per code point. */
function latin1Bytes(text: string): Uint8Array {
  // ASCII, as heads nearly always are, is the same in UTF-8, which the runtime encodes natively.
  if (!NON_ASCII.test(text)) return encoder.encode(text);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new TypeError(`a header holds ${JSON.stringify(text[i])}, which is not a byte`);
    }
    bytes[i] = code;
  }
  return bytes;
}

/**
 * The head of a response to `request`, its body framed as RFC 9112 §6 and RFC 9110 §6.4 ask,
 * and whether the connection closes after it.
 *
 * - No body goes after the head of a 1xx, 204 or 304 response, nor of any answer to `HEAD`
 *   (RFC 9110 §6.4.1). A `HEAD` answer keeps the `Content-Length` a GET would have had: the
 *   application's, else `bodyLength` when known.
 * - Otherwise a known length is sent as `Content-Length`; an unknown one as
 *   `Transfer-Encoding: chunked` to an HTTP/1.1 client, and delimited by closing the connection
 *   to an HTTP/1.0 one (RFC 9112 §6.1: it knows no chunked).
 * - The application's `Content-Length` must agree with a body that is sent, and frames a body of
 *   unknown length (whoever writes it must hold it to that many bytes); on a `HEAD` or 304 answer
 *   it is written as given. Its `Transfer-Encoding` may only be `chunked`, on a body of unknown
 *   length, and is replaced by this framing.
 * - The connection closes when `keepAlive` is false, the request does not persist
 *   ({@linkcode isPersistent}), the body is close-delimited, or the application's `Connection`
 *   holds `close`; `Connection: close` then says so. A persistent HTTP/1.0 client gets
 *   `Connection: keep-alive` (RFC 9112 §9.3), without which it would close. Other options of the
 *   application's `Connection` are kept. An interim (1xx) response never closes the connection.
 *
 * The status line is always `HTTP/1.1` (RFC 9110 §6.2); the application's fields follow it in
 * their order, then the framing fields. No `Date` is added: that takes a clock.
 *
 * @throws {RangeError} for a status outside 100–599, 101, a 1xx to an HTTP/1.0 client (RFC 9110
 * §15.2), or a `bodyLength` that is not a length.
 * @throws {TypeError} for a field or reason phrase that could break the head (CR, LF, NUL, any
 * control character or a non-byte), and for framing fields that contradict the body: content on
 * a 1xx, 204 or 304 response, `Content-Length` or `Transfer-Encoding` on a 1xx or 204 (RFC 9110
 * §8.6), a malformed `Content-Length` or one that differs from `bodyLength`, a
 * `Transfer-Encoding` other than `chunked` or on a body of known length, or both fields.
 *
 * @example A body of unknown length to an HTTP/1.1 client
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeResponseHead } from "./http_response.ts";
 * const request = { method: "GET", version: "HTTP/1.1", headers: new Headers() };
 * const head = encodeResponseHead({
 *   status: 200,
 *   headers: [["Content-Type", "text/plain"]],
 *   bodyLength: null,
 *   request,
 * });
 * assertEquals(
 *   new TextDecoder().decode(head.bytes),
 *   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
 * );
 * assertEquals([head.framing, head.close], ["chunked", false]);
 * ```
 */
export function encodeResponseHead(init: ResponseHeadInit): EncodedResponseHead {
  const { status, bodyLength, request } = init;
  if (!Number.isInteger(status) || status < 100 || status > 599 || status === 101) {
    throw new RangeError(`a response's status is from 100 to 599 and not 101, not ${status}`);
  }
  const interim = status < 200;
  const oldClient = request.version < "HTTP/1.1";
  if (interim && oldClient) throw new RangeError("an HTTP/1.0 client is sent no 1xx response");
  if (bodyLength !== null && !(Number.isSafeInteger(bodyLength) && bodyLength >= 0)) {
    throw new RangeError(`a body's length is a whole number of bytes, not ${bodyLength}`);
  }
  const reason = init.statusText || statusText(status);
  if (!REASON.test(reason)) throw new TypeError(`invalid status text ${JSON.stringify(reason)}`);
  // RFC 9110 §15.2, §15.3.5, §15.4.5: these responses never have content.
  const noContent = interim || status === 204 || status === 304;
  if (noContent && bodyLength !== 0) throw new TypeError(`a ${status} response has no content`);

  const app = sortFields(init.headers ?? []);
  const declared = app.contentLength === null ? null : parseContentLength(app.contentLength);
  if (app.contentLength !== null && declared === null) {
    throw new TypeError(`invalid Content-Length ${JSON.stringify(app.contentLength)}`);
  }
  if ((interim || status === 204) && (declared !== null || app.transferEncoding !== null)) {
    throw new TypeError(`a ${status} response has no Content-Length or Transfer-Encoding`);
  }
  if (app.transferEncoding !== null) {
    if (app.transferEncoding.replace(/^[ \t]+|[ \t]+$/g, "").toLowerCase() !== "chunked") {
      throw new TypeError("Transfer-Encoding may only be chunked: no other coding is applied");
    }
    if (declared !== null) throw new TypeError("both Content-Length and Transfer-Encoding");
    if (bodyLength !== null) {
      throw new TypeError(`Transfer-Encoding: chunked on a body of ${bodyLength} bytes`);
    }
  }

  let framing: ResponseBodyFraming;
  let length = 0;
  let framingLine = "";
  if (noContent || request.method === "HEAD") {
    framing = "none";
    const kept = declared ?? (request.method === "HEAD" ? bodyLength : null);
    if (kept !== null) framingLine = `Content-Length: ${kept}\r\n`;
  } else if (declared !== null || bodyLength !== null) {
    if (declared !== null && bodyLength !== null && declared !== bodyLength) {
      throw new TypeError(`Content-Length ${declared} on a body of ${bodyLength} bytes`);
    }
    framing = "length";
    length = declared ?? bodyLength ?? 0;
    framingLine = `Content-Length: ${length}\r\n`;
  } else if (!oldClient) {
    framing = "chunked";
    framingLine = "Transfer-Encoding: chunked\r\n";
  } else framing = "close";

  const close = !interim &&
    (app.close || !(init.keepAlive ?? true) || !isPersistent(request) || framing === "close");
  const options = app.connectionOptions;
  if (close) options.push("close");
  else if (!interim && oldClient) options.push("keep-alive");
  const connectionLine = options.length > 0 ? `Connection: ${options.join(", ")}\r\n` : "";

  const head = `HTTP/1.1 ${status} ${reason}\r\n` + fieldLines(app.fields, () => false) +
    framingLine + connectionLine + "\r\n";
  return { bytes: latin1Bytes(head), framing, length, close };
}
