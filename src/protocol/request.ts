/**
 * A request's URL, made from its target and `Host` (RFC 9112 §3.2–§3.3), and a request kept as
 * the bytes of its head until it is read.
 *
 * @module
 */

import { HandshakeError } from "./errors.ts";
import { parseRequestHead, type RequestHead } from "./http1.ts";

// RFC 3986 §3.2.2–§3.2.3: a reg-name or IP literal, then an optional port.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(:\d*)?$/;

function badRequest(message: string): HandshakeError {
  return new HandshakeError(400, message);
}

/** The scheme of a request's URL: plain HTTP or WebSocket, over TCP or over TLS. */
export type UrlScheme = "http" | "https" | "ws" | "wss";

/**
 * The request's URL, from its target and `Host` (RFC 9112 §3.2–§3.3).
 *
 * @throws {HandshakeError} 400 when `Host` is missing or the URL cannot be formed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { requestUrl } from "./request.ts";
 * const headers = new Headers({ host: "example.com:8000" });
 * const url = requestUrl({ method: "GET", target: "/chat?room=1", version: "HTTP/1.1", headers }, "ws");
 * assertEquals(url.href, "ws://example.com:8000/chat?room=1");
 * ```
 */
export function requestUrl(head: RequestHead, scheme: UrlScheme): URL {
  const host = head.headers.get("host");
  if (!host || !HOST.test(host)) throw badRequest("missing or malformed Host header");
  // The absolute form (RFC 9112 §3.2.2) carries its own scheme and host; keep path and query.
  const target = head.target.startsWith("/") ? head.target : URL.parse(head.target);
  if (target === null) throw badRequest("malformed request target");
  const url = URL.parse(
    `${scheme}://${host}${typeof target === "string" ? target : target.pathname + target.search}`,
  );
  if (url === null) throw badRequest("malformed request target");
  return url;
}

/**
 * A request kept as the bytes of its head and parsed again on first use. An open connection holds
 * its request for its whole life but seldom reads it, and parsed headers and a URL take several
 * times the memory of the bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { StoredRequest } from "./request.ts";
 * const bytes = new TextEncoder().encode("GET /chat HTTP/1.1\r\nHost: a:8000\r\n\r\n");
 * const request = new StoredRequest(bytes, "ws");
 * assertEquals([request.url.href, request.headers.get("host")], ["ws://a:8000/chat", "a:8000"]);
 * ```
 */
export class StoredRequest {
  readonly #bytes: Uint8Array;
  readonly #scheme: UrlScheme;
  #head: RequestHead | undefined;
  #url: URL | undefined;

  /**
   * Keeps `bytes`, a request head that parses (the caller checked it), which must not change.
   */
  constructor(bytes: Uint8Array, scheme: UrlScheme) {
    this.#bytes = bytes;
    this.#scheme = scheme;
  }

  /** The request's header fields. */
  get headers(): Headers {
    return this.#parsed().headers;
  }

  /** The request's URL; see {@linkcode requestUrl}. */
  get url(): URL {
    return this.#url ??= requestUrl(this.#parsed(), this.#scheme);
  }

  #parsed(): RequestHead {
    return this.#head ??= parseRequestHead(this.#bytes);
  }
}
