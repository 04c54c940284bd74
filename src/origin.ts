/**
 * `allowOrigins()`: an `onUpgrade` check against cross-site WebSocket hijacking, which admits
 * only pages of the origins listed.
 *
 * @module
 */

import { HandshakeError } from "./protocol/errors.ts";
import type { PendingUpgrade } from "./upgrade.ts";

/** Options of {@linkcode allowOrigins}. */
export interface AllowOriginsOptions {
  /**
   * Whether a request without `Origin` is admitted. Browsers always send one (RFC 6455 §4.1
   * item 8, §10.2), so its absence means a client that is not a browser, which could send any
   * origin it likes anyway; refusing them by default follows python-websockets' `origins`.
   * @default {false}
   */
  allowMissing?: boolean;
}

/**
 * A check for `onUpgrade` that admits pages of the listed origins only: a request whose `Origin`
 * is another (`null` included) is refused with 403, and one without `Origin` too, unless
 * `allowMissing`. A browser sends its page's origin with every WebSocket request and lets any
 * page open one, cookies included: without this check, any site a user visits can talk to the
 * server as that user (RFC 6455 §10.2).
 *
 * The check returns nothing, so it is an `onUpgrade` by itself, and with a hook of your own it is
 * the first line of it.
 *
 * @param origins The origins admitted, as `scheme://host[:port]`; any URL is taken as its origin
 * (`https://example.com/app` as `https://example.com`).
 * @throws {TypeError} for an entry that is not a URL, or has no origin of its own (`file:`, say).
 *
 * @example On its own
 * ```ts ignore
 * import { allowOrigins, serve } from "../mod.ts";
 * serve({ onUpgrade: allowOrigins(["https://example.com"]) }, (message) => message);
 * ```
 *
 * @example First in a hook of your own
 * ```ts ignore
 * import { allowOrigins, serve } from "../mod.ts";
 * const checkOrigin = allowOrigins(["https://example.com", "http://localhost:8000"]);
 * serve({
 *   onUpgrade: (request) => {
 *     checkOrigin(request);
 *     return { data: { room: request.url.searchParams.get("room") } };
 *   },
 * }, (message, connection) => `${connection.data.room}: ${message}`);
 * ```
 *
 * @example What it refuses
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { HandshakeError } from "./protocol/errors.ts";
 * import { allowOrigins } from "./origin.ts";
 * const check = allowOrigins(["https://example.com"]);
 * const request = (headers: HeadersInit) => ({
 *   url: new URL("ws://example.com/"),
 *   headers: new Headers(headers),
 *   remoteAddr: { hostname: "192.0.2.1", port: 50000 },
 *   protocols: [],
 * });
 * check(request({ origin: "https://example.com" }));
 * assertThrows(() => check(request({ origin: "https://evil.example" })), HandshakeError);
 * assertThrows(() => check(request({})), HandshakeError);
 * ```
 */
export function allowOrigins(
  origins: Iterable<string>,
  options: AllowOriginsOptions = {},
): (request: PendingUpgrade) => void {
  const allowed = new Set<string>();
  for (const entry of origins) {
    const url = URL.parse(entry);
    if (url === null) throw new TypeError(`not an origin: ${JSON.stringify(entry)}`);
    // An opaque origin serializes as "null", which every sandboxed page and file sends alike.
    if (url.origin === "null") throw new TypeError(`${JSON.stringify(entry)} has no origin`);
    allowed.add(url.origin);
  }
  const allowMissing = options.allowMissing ?? false;
  return (request) => {
    const origin = request.headers.get("origin");
    if (origin === null ? allowMissing : allowed.has(origin)) return;
    throw new HandshakeError(403, origin === null ? "missing Origin" : "origin not allowed");
  };
}
