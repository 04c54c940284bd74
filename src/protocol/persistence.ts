/**
 * Whether an HTTP/1.x connection stays open after a message (RFC 9112 §9.3).
 *
 * @module
 */

import { hasToken } from "./handshake.ts";

/** What {@linkcode isPersistent} reads of a message: a request or a response head fits. */
export interface PersistenceHead {
  /** The protocol version of the message (`HTTP/1.1`). */
  version: string;
  /** Its header fields, of which `Connection` counts. */
  headers: Headers;
}

/**
 * Whether the connection may carry another message after this one, as far as `head` says
 * (RFC 9112 §9.3): an HTTP/1.1 connection persists unless `Connection` holds `close`; an
 * HTTP/1.0 one only if `Connection` holds `keep-alive` (and not `close`). Options are
 * case-insensitive, and may share `Connection` with others (`keep-alive, Upgrade`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isPersistent } from "./persistence.ts";
 * assertEquals(isPersistent({ version: "HTTP/1.1", headers: new Headers() }), true);
 * assertEquals(isPersistent({ version: "HTTP/1.1", headers: new Headers({ connection: "close" }) }), false);
 * assertEquals(isPersistent({ version: "HTTP/1.0", headers: new Headers() }), false);
 * ```
 */
export function isPersistent(head: PersistenceHead): boolean {
  const connection = head.headers.get("connection");
  if (hasToken(connection, "close")) return false;
  return head.version >= "HTTP/1.1" || hasToken(connection, "keep-alive");
}
