/**
 * The upgrade hook: what `serve()`'s `onUpgrade` sees of a WebSocket request before the server
 * answers it, what it may answer, and how its answer becomes the response.
 *
 * @module
 */

import { HandshakeError } from "./protocol/errors.ts";
import { acceptResponse, handshakeErrorResponse } from "./protocol/handshake.ts";
import type { NetAddress } from "./transport.ts";

/**
 * A valid WebSocket upgrade request, as `onUpgrade` sees it before the server answers.
 *
 * @example
 * ```ts
 * import type { PendingUpgrade } from "./upgrade.ts";
 * const fromLoopback = (request: PendingUpgrade) => request.remoteAddr.hostname === "127.0.0.1";
 * ```
 */
export interface PendingUpgrade {
  /** The request URL, with scheme `ws`. */
  readonly url: URL;
  /** The request's header fields. */
  readonly headers: Headers;
  /** The client's address. */
  readonly remoteAddr: NetAddress;
  /**
   * The subprotocols the client offers in `Sec-WebSocket-Protocol`, most preferred first
   * (RFC 6455 §4.1 item 10); empty when it offers none.
   */
  readonly protocols: readonly string[];
}

/**
 * How `onUpgrade` accepts a request: every field may be left out, as may the whole object.
 *
 * @example Pick the first subprotocol this server speaks, and remember who connected
 * ```ts
 * import type { PendingUpgrade, UpgradeAcceptance } from "./upgrade.ts";
 * function accept(request: PendingUpgrade): UpgradeAcceptance<{ user: string }> {
 *   const protocol = request.protocols.find((offered) => offered === "chat.v2" || offered === "chat");
 *   return { protocol, data: { user: request.url.searchParams.get("user") ?? "guest" } };
 * }
 * ```
 */
export interface UpgradeAcceptance<Data> {
  /**
   * The subprotocol chosen, one of the request's `protocols` (RFC 6455 §4.2.2); it becomes the
   * connection's `protocol`. Choosing one that was not offered is a server error: the client
   * gets 500 and `onError` hears of it. @default {""} (none)
   */
  protocol?: string;
  /**
   * Extra header fields of the 101 response (`Set-Cookie` …), sent with lower-case names. A
   * value with CR or LF, or a field the handshake sets itself (`Upgrade`, `Connection`,
   * `Sec-WebSocket-*`, and `Content-Length` or `Transfer-Encoding`, which a 101 never has), is a
   * server error, as above. @default {{}}
   */
  headers?: HeadersInit;
  /** What the connection carries as `connection.data`. @default {undefined} */
  data?: Data;
}

/**
 * Decides a valid upgrade request before the server accepts it; it may be async. It accepts by
 * returning (an {@linkcode UpgradeAcceptance}, or nothing), and refuses by throwing a
 * `HandshakeError`, whose status (3xx to 5xx), headers and message (the body) make the
 * response. Anything else it throws goes to `onError` and the client gets 500. It must settle
 * within the handshake timeout, or the connection is ended and `onError` told.
 *
 * @example Refuse requests without a token
 * ```ts
 * import { HandshakeError } from "./protocol/errors.ts";
 * import type { UpgradeHook } from "./upgrade.ts";
 * const requireToken: UpgradeHook<{ token: string }> = (request) => {
 *   const token = request.url.searchParams.get("token");
 *   if (token === null) throw new HandshakeError(401, "a token is needed");
 *   return { data: { token } };
 * };
 * ```
 */
export type UpgradeHook<Data> = (
  request: PendingUpgrade,
) => UpgradeAcceptance<Data> | void | Promise<UpgradeAcceptance<Data> | void>;

/** The server's answer to an upgrade request, as {@linkcode answerUpgrade} makes it. */
export interface UpgradeAnswer<Data> {
  /** The response to write: a 101, or a refusal. */
  response: Uint8Array;
  /** For a 101, the subprotocol chosen ("" for none) and the connection's data; else null. */
  accepted: { protocol: string; data: Data | undefined } | null;
}

const INTERNAL_ERROR = new HandshakeError(500, "internal server error");

/**
 * Asks `hook` how to answer a valid upgrade request, and makes the response: a 101 with the
 * chosen subprotocol and headers (and `extensions`, those the server accepted), or the refusal
 * the hook threw. What is wrong on the server's
 * side goes to `onError` and is answered 500: the hook throws anything but a `HandshakeError`,
 * or has not settled when `deadline` rejects; it chooses a subprotocol that was not offered or a
 * header it may not give; or it refuses with a status or a header that cannot be sent. A
 * `HandshakeError` from `deadline` is a refusal, not reported.
 *
 * @example Without a hook, every valid request is accepted
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { answerUpgrade } from "./upgrade.ts";
 * const request = {
 *   url: new URL("ws://example.com/"),
 *   headers: new Headers(),
 *   remoteAddr: { hostname: "127.0.0.1", port: 50000 },
 *   protocols: [],
 * };
 * const answer = await answerUpgrade(request, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", undefined, new Promise(() => {}), console.error);
 * assertEquals(answer.accepted, { protocol: "", data: undefined });
 * ```
 */
export async function answerUpgrade<Data>(
  request: PendingUpgrade,
  acceptKey: string,
  hook: UpgradeHook<Data> | undefined,
  deadline: Promise<never>,
  onError: (error: unknown) => void,
  extensions = "",
): Promise<UpgradeAnswer<Data>> {
  let failure: unknown;
  try {
    const acceptance = hook === undefined
      ? undefined
      : await Promise.race([(async () => await hook(request))(), deadline]);
    const { protocol = "", headers, data } = acceptance ?? {};
    // RFC 6455 §4.2.2: the server's choice is one of the values the client offered.
    if (protocol !== "" && !request.protocols.includes(protocol)) {
      throw new TypeError(
        `onUpgrade chose the subprotocol ${JSON.stringify(protocol)}, which the client did ` +
          `not offer (it offered ${JSON.stringify(request.protocols)})`,
      );
    }
    return {
      response: acceptResponse(acceptKey, { protocol, extensions, headers }),
      accepted: { protocol, data },
    };
  } catch (error) {
    failure = error;
  }
  if (failure instanceof HandshakeError) {
    try {
      return { response: handshakeErrorResponse(failure), accepted: null };
    } catch (invalid) {
      failure = invalid;
    }
  }
  onError(failure);
  return { response: handshakeErrorResponse(INTERNAL_ERROR), accepted: null };
}
