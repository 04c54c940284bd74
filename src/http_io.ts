/**
 * The HTTP side of a transport, before or instead of a WebSocket: reading a message head, and
 * ending a connection politely once its response is written.
 *
 * @module
 */

import { Deadline } from "./deadline.ts";
import type { HeadParser, ParsedHead } from "./protocol/http1.ts";
import { closeQuietly, type Transport } from "./transport.ts";

/**
 * Reads until `parser` has a complete HTTP head: a server's request or a client's response.
 * Resolves with the head and the bytes after it, or null when the peer hangs up first.
 * `onBytes`, if given, is called once the first bytes have come: a server waiting for the next
 * request on a kept-alive connection then gives the client the head's deadline instead of the
 * idle one.
 *
 * @throws what `parser.push` throws for a head that is malformed or too large.
 *
 * @example
 * ```ts ignore
 * import { RequestHeadParser } from "./protocol/http1.ts";
 * import { readHead } from "./http_io.ts";
 * const conn = await Deno.connect({ port: 8000 });
 * const request = await readHead(conn, new Uint8Array(1024), new RequestHeadParser());
 * ```
 */
export async function readHead<Head>(
  transport: Transport,
  buffer: Uint8Array,
  parser: HeadParser<Head>,
  onBytes?: () => void,
): Promise<ParsedHead<Head> | null> {
  while (true) {
    const count = await transport.read(buffer);
    if (count === null) return null;
    if (onBytes && count > 0) {
      onBytes();
      onBytes = undefined;
    }
    const parsed = parser.push(buffer.subarray(0, count));
    if (parsed) return parsed;
  }
}

/**
 * Ends a connection politely: sends FIN, reads and drops whatever the peer still sends until it
 * hangs up too, then closes; after `timeoutMs` it closes anyway (0: it waits as long as it
 * takes). Closing with unread bytes would send a reset instead of a FIN, and a reset can make the
 * peer drop the last response before reading it. `reading`, a read of the transport still under
 * way (a request body's), is waited for before reading on, so that two reads never overlap.
 *
 * @example
 * ```ts ignore
 * import { hangUp } from "./http_io.ts";
 * import { writeAll } from "./transport.ts";
 * const conn = await Deno.connect({ port: 8000 });
 * await writeAll(conn, new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * await hangUp(conn, 1000);
 * ```
 */
export async function hangUp(
  transport: Transport,
  timeoutMs: number,
  reading: Promise<unknown> | null = null,
): Promise<void> {
  const deadline = new Deadline(timeoutMs, () => new Error("the peer did not hang up"));
  deadline.expired.catch(() => closeQuietly(transport));
  try {
    await transport.closeWrite();
    await reading;
    const buffer = new Uint8Array(1024);
    while (await transport.read(buffer) !== null);
  } catch {
    // The peer reset, or the deadline closed the transport: either way it is over.
  } finally {
    deadline.clear();
    closeQuietly(transport);
  }
}
