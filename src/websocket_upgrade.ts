/**
 * An upgrade request on its way to a WebSocket: checked (RFC 6455 §4.2.1), a `maxConnections`
 * slot taken, permessage-deflate negotiated, decided by `onUpgrade` (or by `fetch`, with
 * `fetchUpgrades`), and answered with its 101, after which it is a `WebSocketConnection`; or
 * refused.
 *
 * @module
 */

import { offeredExtensions } from "./compression.ts";
import type { Deadline } from "./deadline.ts";
import { type FetchHandler, RequestInfo } from "./fetch_handler.ts";
import { HandshakeError } from "./protocol/errors.ts";
import {
  computeAcceptKey,
  handshakeErrorResponse,
  offeredSubprotocols,
  validateUpgradeRequest,
} from "./protocol/handshake.ts";
import type { ParsedHead, RequestHead } from "./protocol/http1.ts";
import { requestUrl, StoredRequest } from "./protocol/request.ts";
import type { ServerSettings } from "./serve_options.ts";
import { type Transport, writeAll } from "./transport.ts";
import {
  answerUpgrade,
  type PendingUpgrade,
  type UpgradeAcceptance,
  type UpgradeHook,
} from "./upgrade.ts";
import { type UpgradeRequest, WebSocketConnection } from "./websocket.ts";

/**
 * A server's count of WebSockets, open or being decided, against `maxConnections`.
 *
 * @example
 * ```ts
 * import type { Slots } from "./websocket_upgrade.ts";
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
}

/**
 * The answer to a refused upgrade request: the bytes of a complete response, or the `Response`
 * that `fetch` gave instead of accepting. Either way the connection ends after it.
 */
export type Refusal = Uint8Array | Response;

/**
 * Decides an upgrade request: the connection, with the bytes after the head, once the 101 is
 * written; or the response refusing it. `deadline` bounds the decision (`onUpgrade`, or
 * `fetch`); it is cleared before the 101 is written.
 *
 * @throws {HandshakeError} for a request that breaks the handshake's rules (RFC 6455 §4.2.1), or
 * 503 when every slot is taken.
 *
 * @example
 * ```ts ignore
 * import { upgrade } from "./websocket_upgrade.ts";
 * const answer = await upgrade(transport, parsedHead, settings, deadline, slots);
 * if ("connection" in answer) answer.connection.run(answer.rest);
 * ```
 */
export async function upgrade<Data>(
  transport: Transport,
  { head, rest, bytes }: ParsedHead<RequestHead>,
  settings: ServerSettings<Data>,
  deadline: Deadline,
  slots: Slots,
): Promise<Upgraded<Data> | Refusal> {
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
    let hook: UpgradeHook<Data> | undefined = settings.onUpgrade;
    if (settings.fetchUpgrades) {
      const decided = await decideByFetch(head, pending, settings, deadline);
      if (!isAcceptance(decided)) return decided;
      hook = () => decided;
    }
    deflate = settings.deflateAcceptor?.accept(offers) ?? null;
    const extensions = deflate?.response ?? "";
    const { response, accepted } = await answerUpgrade(
      pending,
      await computeAcceptKey(key),
      hook,
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

function isAcceptance<Data>(
  decided: UpgradeAcceptance<Data> | Refusal,
): decided is UpgradeAcceptance<Data> {
  return !(decided instanceof Uint8Array) && !(decided instanceof Response);
}

/**
 * Asks `fetch` about an upgrade request, as a `Request` with an `http:` or `https:` URL: the
 * acceptance it gave `info.upgrade`, or the response it returned instead. A `fetch` that throws,
 * or does not settle before `deadline`, is answered 500 and goes to `onError`; a `HandshakeError`
 * from `deadline` (the server shutting down) is the refusal.
 */
async function decideByFetch<Data>(
  head: RequestHead,
  pending: PendingUpgrade,
  settings: ServerSettings<Data>,
  deadline: Deadline,
): Promise<UpgradeAcceptance<Data> | Refusal> {
  const url = requestUrl(head, settings.scheme === "wss" ? "https" : "http");
  const request = new Request(url, { method: head.method, headers: head.headers });
  const info = new RequestInfo<Data>(pending.remoteAddr, request);
  const fetch = settings.fetch as FetchHandler<Data>;
  try {
    const response = await deadline.race((async () => await fetch(request, info))());
    if (info.acceptance !== null) return info.acceptance;
    if (response instanceof Response) return response;
    throw new TypeError(`fetch returned ${typeof response}, not a Response`);
  } catch (error) {
    if (error instanceof HandshakeError) return handshakeErrorResponse(error);
    settings.onError(error);
    return handshakeErrorResponse(new HandshakeError(500, "internal server error"));
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
