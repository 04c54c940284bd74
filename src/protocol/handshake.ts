/**
 * The opening handshake, server side (RFC 6455 §4.2): checking the client's upgrade request,
 * computing `Sec-WebSocket-Accept`, and the HTTP responses.
 *
 * @module
 */

// For the base64 of the 20-byte SHA-1 alone: Node 24 has no Uint8Array.prototype.toBase64 yet.
import { encodeBase64 } from "@std/encoding/base64";
import { HandshakeError } from "./errors.ts";
import { isFieldValue, isToken, type RequestHead } from "./http1.ts";
import { statusText } from "./status_text.ts";

/** The GUID that RFC 6455 §1.3 appends to the client's key. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A base64 string of exactly 16 bytes: 22 characters and `==` (RFC 6455 §4.1, item 7). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

const encoder = new TextEncoder();

/**
 * Computes `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64 of the SHA-1 of the
 * key followed by {@linkcode WEBSOCKET_GUID} (RFC 6455 §4.2.2, item 5.4).
 *
 * @example RFC 6455 §1.3's example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { computeAcceptKey } from "./handshake.ts";
 * assertEquals(await computeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export async function computeAcceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + WEBSOCKET_GUID));
  return encodeBase64(digest);
}

/**
 * Whether a comma-separated header value holds `token` (given in lower case), case-insensitively.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hasToken } from "./handshake.ts";
 * assert(hasToken("keep-alive, Upgrade", "upgrade"));
 * ```
 */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  return value.split(",").some((item) => item.trim().toLowerCase() === token);
}

/**
 * Whether a request asks to become a WebSocket: it names `websocket` in `Upgrade` or carries a
 * `Sec-WebSocket-Key` or `Sec-WebSocket-Version`. Such a request is answered by
 * {@linkcode validateUpgradeRequest}'s verdict, never by a plain HTTP response.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isUpgradeRequest } from "./handshake.ts";
 * const headers = new Headers({ upgrade: "WebSocket" });
 * assert(isUpgradeRequest({ method: "GET", target: "/", version: "HTTP/1.1", headers }));
 * ```
 */
export function isUpgradeRequest(head: RequestHead): boolean {
  const { headers } = head;
  return hasToken(headers.get("upgrade"), "websocket") || headers.has("sec-websocket-key") ||
    headers.has("sec-websocket-version");
}

/**
 * Checks an upgrade request against RFC 6455 §4.2.1 and returns its `Sec-WebSocket-Key`.
 *
 * @throws {HandshakeError} 405 for a method other than GET; 400 for an HTTP version below 1.1, a
 * missing `Host`, `Upgrade: websocket`, `Connection: Upgrade`, or a key that is not 16 bytes of
 * base64; 426 with `Sec-WebSocket-Version: 13` for any version but 13.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { validateUpgradeRequest } from "./handshake.ts";
 * const headers = new Headers({
 *   host: "example.com",
 *   upgrade: "websocket",
 *   connection: "keep-alive, Upgrade",
 *   "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *   "sec-websocket-version": "13",
 * });
 * const key = validateUpgradeRequest({ method: "GET", target: "/", version: "HTTP/1.1", headers });
 * assertEquals(key, "dGhlIHNhbXBsZSBub25jZQ==");
 * ```
 */
export function validateUpgradeRequest(head: RequestHead): string {
  const { headers } = head;
  if (head.method !== "GET") {
    throw new HandshakeError(405, "a WebSocket handshake must be a GET", { Allow: "GET" });
  }
  if (head.version < "HTTP/1.1") throw new HandshakeError(400, "a WebSocket needs HTTP/1.1");
  if (!headers.get("host")) throw new HandshakeError(400, "missing Host header");
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    throw new HandshakeError(400, "missing Upgrade: websocket");
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    throw new HandshakeError(400, "missing Connection: Upgrade");
  }
  if (headers.get("sec-websocket-version") !== "13") {
    throw new HandshakeError(426, "unsupported WebSocket version; this server speaks 13", {
      "Sec-WebSocket-Version": "13",
    });
  }
  const key = headers.get("sec-websocket-key");
  if (key === null || !KEY_PATTERN.test(key)) {
    throw new HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  }
  return key;
}

/**
 * The subprotocols a client offers, most preferred first: the comma-separated tokens of
 * `Sec-WebSocket-Protocol` (RFC 6455 §4.1 item 10, §11.3.4), over however many header lines.
 * Empty list elements are skipped, as RFC 9110 §5.6.1 asks of a recipient.
 *
 * @throws {HandshakeError} 400 for an element that is not a token.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { offeredSubprotocols } from "./handshake.ts";
 * const headers = new Headers({ "sec-websocket-protocol": "chat.v2, chat" });
 * assertEquals(offeredSubprotocols(headers), ["chat.v2", "chat"]);
 * ```
 */
export function offeredSubprotocols(headers: Headers): string[] {
  const value = headers.get("sec-websocket-protocol");
  if (value === null) return [];
  const protocols = value.split(",").map((item) => item.replace(/^[ \t]+|[ \t]+$/g, ""))
    .filter((item) => item !== "");
  if (!protocols.every(isToken)) throw new HandshakeError(400, "malformed Sec-WebSocket-Protocol");
  return protocols;
}

/**
 * The header lines of `fields`, each checked: a token for a name, a value without control
 * characters, and a name that `reserved` (given lower-case) does not claim. Requests and
 * responses both build their extra fields with it.
 *
 * @throws {TypeError} for a field that fails a check.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { fieldLines } from "./handshake.ts";
 * assertEquals(fieldLines([["X-A", "1"]], () => false), "X-A: 1\r\n");
 * assertThrows(() => fieldLines([["Upgrade", "h2c"]], (name) => name === "upgrade"), TypeError);
 * ```
 */
export function fieldLines(
  fields: Iterable<[string, string]>,
  reserved: (name: string) => boolean,
): string {
  let lines = "";
  for (const [name, value] of fields) {
    if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (!isFieldValue(value)) {
      throw new TypeError(`the value of header ${name} holds a control character (CR, LF …)`);
    }
    if (reserved(name.toLowerCase())) {
      throw new TypeError(`${name} is set by the handshake itself and cannot be given`);
    }
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

/**
 * Fields a 101 may not be given: the handshake's own (RFC 6455 §4.2.2), and the two a 1xx
 * response never carries (RFC 9110 §8.6, RFC 9112 §6.1).
 */
const isAcceptField = (name: string) =>
  name.startsWith("sec-websocket-") ||
  ["upgrade", "connection", "content-length", "transfer-encoding"].includes(name);

/** Options of {@linkcode acceptResponse}. */
export interface AcceptResponseOptions {
  /** The subprotocol chosen from those offered; "" for none. @default {""} */
  protocol?: string;
  /** The extensions accepted, as `Sec-WebSocket-Extensions` lists them; "" for none. @default {""} */
  extensions?: string;
  /**
   * Extra header fields (`Set-Cookie` …); the handshake's own fields, `Content-Length` and
   * `Transfer-Encoding` cannot be given. They go on the wire with lower-case names.
   * @default {{}}
   */
  headers?: HeadersInit;
}

/**
 * The `101 Switching Protocols` response that completes the handshake (RFC 6455 §4.2.2), with
 * the chosen subprotocol and extensions, if any, and extra header fields.
 *
 * @throws {TypeError} for a subprotocol that is not a token, or an extra field that is invalid or
 * may not be given.
 *
 * @example
 * ```ts
 * import { acceptResponse } from "./handshake.ts";
 * const bytes = acceptResponse("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", { protocol: "chat" });
 * console.log(new TextDecoder().decode(bytes));
 * ```
 */
export function acceptResponse(acceptKey: string, options: AcceptResponseOptions = {}): Uint8Array {
  const { protocol = "", extensions = "", headers = {} } = options;
  let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${acceptKey}\r\n`;
  if (protocol !== "") {
    if (!isToken(protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(protocol)}`);
    head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  }
  if (extensions !== "") head += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  // Headers checks names and values; fieldLines checks them again, and the names reserved. Sorted
  // by name (a stable sort keeps repeated fields in order), as runtimes iterate Headers in
  // different orders and the response should not depend on the runtime.
  const fields = [...new Headers(headers)].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return encoder.encode(head + fieldLines(fields, isAcceptField) + "\r\n");
}

/** Fields {@linkcode httpResponse} sets itself. */
const isResponseField = (name: string) =>
  ["content-type", "content-length", "connection", "transfer-encoding"].includes(name);

/** Options of {@linkcode httpResponse}. */
export interface HttpResponseOptions {
  /**
   * Extra header fields, written as given; `Content-Type`, `Content-Length`, `Connection` and
   * `Transfer-Encoding` cannot be given.
   */
  headers?: Readonly<Record<string, string>>;
  /** The body's media type. @default {"text/plain; charset=utf-8"} */
  contentType?: string;
  /** Whether to leave the body out, as for a HEAD request; `Content-Length` stays. */
  omitBody?: boolean;
}

/**
 * A complete HTTP/1.1 response that closes the connection: for the test page, and for every
 * request that cannot become a WebSocket. A status without a known reason phrase gets an empty
 * one (RFC 9112 §4: clients ignore it).
 *
 * @throws {TypeError} for an extra header field that is invalid or may not be given.
 *
 * @example
 * ```ts
 * import { httpResponse } from "./handshake.ts";
 * const bytes = httpResponse(404, "not found\n");
 * console.log(new TextDecoder().decode(bytes).split("\r\n")[0]); // "HTTP/1.1 404 Not Found"
 * ```
 */
export function httpResponse(
  status: number,
  body: string,
  options: HttpResponseOptions = {},
): Uint8Array {
  const bodyBytes = encoder.encode(body);
  const head = `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
    `Content-Type: ${options.contentType ?? "text/plain; charset=utf-8"}\r\n` +
    `Content-Length: ${bodyBytes.length}\r\nConnection: close\r\n` +
    fieldLines(Object.entries(options.headers ?? {}), isResponseField);
  const headBytes = encoder.encode(head + "\r\n");
  if (options.omitBody) return headBytes;
  const bytes = new Uint8Array(headBytes.length + bodyBytes.length);
  bytes.set(headBytes);
  bytes.set(bodyBytes, headBytes.length);
  return bytes;
}

/**
 * The response for a failed handshake: its status, headers, and message as the body. A handshake
 * is refused with a redirect (RFC 6455 §4.2.2 item 1 allows 3xx), a client error or a server
 * error: any other status would tell the client something else happened.
 *
 * @throws {RangeError} for a status outside 300–599.
 * @throws {TypeError} for a header field that is invalid or may not be given.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "./errors.ts";
 * import { handshakeErrorResponse } from "./handshake.ts";
 * const bytes = handshakeErrorResponse(new HandshakeError(426, "version", { "Sec-WebSocket-Version": "13" }));
 * ```
 */
export function handshakeErrorResponse(error: HandshakeError): Uint8Array {
  const { status } = error;
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new RangeError(`a handshake is refused with a status from 300 to 599, not ${status}`);
  }
  return httpResponse(error.status, error.message + "\n", { headers: error.headers });
}
