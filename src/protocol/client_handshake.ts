/**
 * The opening handshake, client side (RFC 6455 §4.1): the WebSocket URL, the upgrade request,
 * and the checks of the server's response.
 *
 * @module
 */

// For the base64 of the 16-byte key alone: Node 24 has no Uint8Array.prototype.toBase64 yet.
import { encodeBase64 } from "@std/encoding/base64";
import { UpgradeFailedError } from "./errors.ts";
import { computeAcceptKey, fieldLines, hasToken } from "./handshake.ts";
import { isToken, type ResponseHead } from "./http1.ts";

/** Header fields the handshake sets itself, which extra headers may not name. */
const HANDSHAKE_FIELDS = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
]);

const encoder = new TextEncoder();

/**
 * Reads a WebSocket URL (RFC 6455 §3): scheme `ws` or `wss`, no fragment.
 *
 * @throws {TypeError} for a string that is not a URL, another scheme, or a fragment.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { webSocketUrl } from "./client_handshake.ts";
 * assertEquals(webSocketUrl("ws://example.com/chat?room=1").port, "");
 * ```
 */
export function webSocketUrl(url: string | URL): URL {
  const parsed = URL.parse(url);
  if (parsed === null) throw new TypeError(`not a URL: ${JSON.stringify(String(url))}`);
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`a WebSocket URL starts with ws:// or wss://, not ${parsed.protocol}//`);
  }
  if (parsed.hash !== "") throw new TypeError("a WebSocket URL has no fragment");
  return parsed;
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 random bytes in base64 (RFC 6455 §4.1, item 7).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { generateKey } from "./client_handshake.ts";
 * assertEquals(generateKey().length, 24);
 * ```
 */
export function generateKey(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
}

/** Options of {@linkcode upgradeRequest}. */
export interface UpgradeRequestOptions {
  /** The URL to open, as {@linkcode webSocketUrl} returns it. */
  url: URL;
  /** The `Sec-WebSocket-Key`, from {@linkcode generateKey}. */
  key: string;
  /** Subprotocols to offer, most preferred first. @default {[]} */
  protocols?: readonly string[];
  /** Extensions to offer, as `Sec-WebSocket-Extensions` lists them; "" for none. @default {""} */
  extensions?: string;
  /**
   * Extra header fields (`Authorization`, `Origin`, `Cookie` …); they go on the wire with
   * lower-case names. They may not name the fields the handshake sets itself.
   * @default {{}}
   */
  headers?: HeadersInit;
}

/**
 * The upgrade request (RFC 6455 §4.1): `GET` of the URL's path and query, `Host`, `Upgrade`,
 * `Connection`, the key, version 13, the subprotocols and extensions offered, then the extra
 * headers.
 *
 * @throws {TypeError} for a subprotocol that is not a token or is offered twice, an extra header
 * that is invalid or names a field of the handshake.
 *
 * @example
 * ```ts
 * import { upgradeRequest } from "./client_handshake.ts";
 * const bytes = upgradeRequest({
 *   url: new URL("ws://example.com/chat"),
 *   key: "dGhlIHNhbXBsZSBub25jZQ==",
 *   protocols: ["chat"],
 * });
 * console.log(new TextDecoder().decode(bytes).split("\r\n")[0]); // "GET /chat HTTP/1.1"
 * ```
 */
export function upgradeRequest(options: UpgradeRequestOptions): Uint8Array {
  const { url, key, protocols = [] } = options;
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  // RFC 6455 §4.1, item 10: each subprotocol is a token, and none is offered twice.
  for (const protocol of protocols) {
    if (!isToken(protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(protocol)}`);
  }
  if (new Set(protocols).size !== protocols.length) {
    throw new TypeError("a subprotocol is offered twice");
  }
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
  if (options.extensions) lines.push(`Sec-WebSocket-Extensions: ${options.extensions}`);
  const extra = fieldLines(new Headers(options.headers), (name) => HANDSHAKE_FIELDS.has(name));
  return encoder.encode(lines.join("\r\n") + "\r\n" + extra + "\r\n");
}

/**
 * Checks the server's response to an upgrade request (RFC 6455 §4.1, the client's checks 1–6)
 * and returns the subprotocol the server chose, or "" for none.
 *
 * @throws {UpgradeFailedError} with the response's status for a status other than 101, a missing
 * `Upgrade: websocket` or `Connection: Upgrade`, a missing or wrong `Sec-WebSocket-Accept`, a
 * subprotocol that was not offered, or any extension when none was offered (what was chosen of
 * an offer is the offerer's to check).
 *
 * @example RFC 6455 §1.3's response
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { validateUpgradeResponse } from "./client_handshake.ts";
 * const headers = new Headers({
 *   upgrade: "websocket",
 *   connection: "Upgrade",
 *   "sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
 *   "sec-websocket-protocol": "chat",
 * });
 * const head = { version: "HTTP/1.1", status: 101, reason: "Switching Protocols", headers };
 * assertEquals(await validateUpgradeResponse(head, "dGhlIHNhbXBsZSBub25jZQ==", ["chat"]), "chat");
 * ```
 */
export async function validateUpgradeResponse(
  head: ResponseHead,
  key: string,
  protocols: readonly string[] = [],
  extensionsOffered = false,
): Promise<string> {
  const { status, headers } = head;
  const fail = (message: string) => new UpgradeFailedError(status, message, headers);
  if (status !== 101) {
    throw fail(`the server answered ${`${status} ${head.reason}`.trim()}, not 101`);
  }
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    throw fail("the response has no Upgrade: websocket");
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    throw fail("the response has no Connection: Upgrade");
  }
  const accept = headers.get("sec-websocket-accept");
  if (accept === null) throw fail("the response has no Sec-WebSocket-Accept");
  if (accept !== await computeAcceptKey(key)) {
    throw fail("the response's Sec-WebSocket-Accept does not match the key");
  }
  const extensions = headers.get("sec-websocket-extensions");
  if (extensions && !extensionsOffered) {
    throw fail(`the server chose extensions that were not offered: ${extensions}`);
  }
  const protocol = headers.get("sec-websocket-protocol");
  if (!protocol) return "";
  if (!protocols.includes(protocol)) {
    throw fail(`the server chose the subprotocol ${JSON.stringify(protocol)}, not offered`);
  }
  return protocol;
}
