/**
 * The HTTP side of one accepted TCP connection: it reads the request, and either accepts a
 * WebSocket upgrade (the connection is handed back to run) or answers with the test page or an
 * HTTP error and ends the connection.
 *
 * @module
 */

import { offeredExtensions } from "./compression.ts";
import type { Deadline } from "./deadline.ts";
import { hangUp, readHead } from "./http_io.ts";
import { HandshakeError } from "./protocol/errors.ts";
import {
  computeAcceptKey,
  handshakeErrorResponse,
  httpResponse,
  isUpgradeRequest,
  offeredSubprotocols,
  validateUpgradeRequest,
} from "./protocol/handshake.ts";
import { type ParsedHead, type RequestHead, RequestHeadParser } from "./protocol/http1.ts";
import { requestUrl, StoredRequest } from "./protocol/request.ts";
import { MIN_READ_BYTES } from "./read_loop.ts";
import type { ServerSettings } from "./serve_options.ts";
import { closeQuietly, type Transport, writeAll } from "./transport.ts";
import { answerUpgrade, type PendingUpgrade } from "./upgrade.ts";
import { type UpgradeRequest, WebSocketConnection } from "./websocket.ts";

/**
 * A server's count of WebSockets, open or being decided, against `maxConnections`.
 *
 * @example
 * ```ts
 * import type { Slots } from "./http_connection.ts";
 * let taken = 0;
 * const slots: Slots = { take: () => void taken++, release: () => void taken-- };
 * ```
 */
export interface Slots {
  /** Takes a slot for an upgrade request. @throws {HandshakeError} 503 when none is left. */
  take(): void;
  /** Gives a slot back: the request was refused, or its connection has ended. */
  release(): void;
}

/** A request that became a WebSocket, ready to run. */
export interface Upgraded<Data> {
  /** The connection, handshake done. */
  connection: WebSocketConnection<Data>;
  /** The bytes that followed the request head: the first frames. */
  rest: Uint8Array;
  /** The read buffer, handed on to the connection. */
  buffer: Uint8Array;
}

/**
 * Answers one TCP connection's request. A valid WebSocket upgrade that `onUpgrade` accepts
 * takes a slot and comes back as a connection to run; anything else is answered (the test page,
 * 404, a handshake error) and the transport ended, and null comes back. `deadline` bounds the
 * request head and `onUpgrade`; it is cleared once the request is answered.
 *
 * @example
 * ```ts ignore
 * import { answerRequest } from "./http_connection.ts";
 * const upgraded = await answerRequest(transport, settings, deadline, slots);
 * if (upgraded) upgraded.connection.run(upgraded.rest, upgraded.buffer);
 * ```
 */
export async function answerRequest<Data>(
  transport: Transport,
  settings: ServerSettings<Data>,
  deadline: Deadline,
  slots: Slots,
): Promise<Upgraded<Data> | null> {
  // One read buffer serves the request head, then the WebSocket.
  const buffer = new Uint8Array(MIN_READ_BYTES);
  let response: Uint8Array;
  try {
    const request = await readHead(transport, buffer, new RequestHeadParser(settings));
    if (request === null) {
      closeQuietly(transport);
      return null;
    }
    if (!isUpgradeRequest(request.head)) {
      response = plainResponse(request.head, settings.page);
    } else {
      const answer = await upgrade(transport, request, settings, deadline, slots);
      if (!(answer instanceof Uint8Array)) return { ...answer, buffer };
      response = answer;
    }
  } catch (error) {
    // A transport that failed mid-handshake (reset, timed out) has no one left to answer.
    if (!(error instanceof HandshakeError)) {
      closeQuietly(transport);
      return null;
    }
    response = handshakeErrorResponse(error);
  } finally {
    deadline.clear();
  }
  try {
    await writeAll(transport, response);
  } catch {
    closeQuietly(transport);
    return null;
  }
  await hangUp(transport, settings.closeTimeoutMs);
  return null;
}

/**
 * Decides an upgrade request: the connection, with the bytes after the head, once the 101 is
 * written; or the response refusing it.
 *
 * @throws {HandshakeError} for a request that breaks the handshake's rules (RFC 6455 §4.2.1), or
 * 503 when every slot is taken.
 */
async function upgrade<Data>(
  transport: Transport,
  { head, rest, bytes }: ParsedHead<RequestHead>,
  settings: ServerSettings<Data>,
  deadline: Deadline,
  slots: Slots,
): Promise<Omit<Upgraded<Data>, "buffer"> | Uint8Array> {
  const key = validateUpgradeRequest(head);
  // A server that compresses reads the offers (400 for a malformed field); others ignore them.
  const offers = settings.deflateAcceptor ? offeredExtensions(head.headers) : [];
  const pending: PendingUpgrade = {
    url: requestUrl(head, settings.scheme), // 400 for a Host that makes no URL
    headers: head.headers,
    remoteAddr: transport.remoteAddr,
    protocols: offeredSubprotocols(head.headers),
  };
  // The connection keeps the head as bytes, not parsed; the read buffer they are in is reused.
  const headBytes = bytes.slice();
  slots.take();
  let deflate = null;
  let upgraded = false;
  try {
    deflate = settings.deflateAcceptor?.accept(offers) ?? null;
    const extensions = deflate?.response ?? "";
    const { response, accepted } = await answerUpgrade(
      pending,
      await computeAcceptKey(key),
      settings.onUpgrade,
      deadline.expired,
      settings.onError,
      extensions,
    );
    if (accepted === null) return response;
    deadline.clear();
    await writeAll(transport, response);
    const request = new AcceptedRequest(headBytes, settings.scheme, accepted.protocol, extensions);
    const connection = new WebSocketConnection<Data>(transport, request, settings, deflate?.codec);
    // What onUpgrade attached, typed Data by serve()'s signature; undefined if nothing.
    connection.data = accepted.data as Data;
    upgraded = true;
    return { connection, rest };
  } finally {
    // An upgraded connection gives its slot back once it has ended, and its codec closes with it.
    if (!upgraded) {
      slots.release();
      deflate?.codec.close();
    }
  }
}

/**
 * The request of an accepted upgrade, kept as bytes, and the subprotocol and extensions chosen
 * for it.
 */
class AcceptedRequest extends StoredRequest implements UpgradeRequest {
  readonly protocol: string;
  readonly extensions: string;

  constructor(bytes: Uint8Array, scheme: "ws" | "wss", protocol: string, extensions: string) {
    super(bytes, scheme);
    this.protocol = protocol;
    this.extensions = extensions;
  }
}

/** The answer to a request that does not ask for a WebSocket. */
function plainResponse(head: RequestHead, page: string | false): Uint8Array {
  if (head.method !== "GET" && head.method !== "HEAD") {
    return httpResponse(405, "method not allowed\n", { headers: { Allow: "GET, HEAD" } });
  }
  const omitBody = head.method === "HEAD";
  if (requestUrl(head, "http").pathname !== "/" || page === false) {
    return httpResponse(404, "not found\n", { omitBody });
  }
  return httpResponse(200, page, { contentType: "text/html; charset=utf-8", omitBody });
}
