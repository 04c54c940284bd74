/**
 * The typed errors of the protocol: each carries what goes on the wire in its place.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";

/**
 * The peer broke RFC 6455. `closeCode` is the code the connection is closed with.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * const error = new ProtocolError(1002, "unmasked client frame");
 * console.log(error.closeCode, error.message);
 * ```
 */
export class ProtocolError extends Error {
  /** The close code this violation is answered with (1002, 1007, 1009 …). */
  readonly closeCode: number;

  /** Creates the error; `reason` is short enough to travel in a close frame. */
  constructor(closeCode: number, reason: string) {
    super(reason);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
  }
}

/**
 * A {@linkcode ProtocolError} with close code 1002, the code of most framing violations.
 *
 * @example
 * ```ts
 * import { protocolError } from "./errors.ts";
 * console.log(protocolError("reserved bits set").closeCode); // 1002
 * ```
 */
export function protocolError(reason: string): ProtocolError {
  return new ProtocolError(CloseCode.ProtocolError, reason);
}

/**
 * An HTTP request that cannot become a WebSocket: `status` (and `headers`) make the response.
 *
 * @example
 * ```ts
 * import { HandshakeError } from "./errors.ts";
 * const error = new HandshakeError(426, "unsupported version", { "Sec-WebSocket-Version": "13" });
 * console.log(error.status, error.headers);
 * ```
 */
export class HandshakeError extends Error {
  /** The HTTP status of the response. */
  readonly status: number;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;

  /** Creates the error; `message` becomes the response body. */
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
  }
}

/**
 * The server's answer to a client's upgrade request did not open a WebSocket (RFC 6455 §4.1): a
 * status other than 101, a response that breaks the handshake's rules, a malformed or oversized
 * response head, or none in time.
 *
 * @example
 * ```ts
 * import { UpgradeFailedError } from "./errors.ts";
 * const error = new UpgradeFailedError(404, "the server answered 404 Not Found");
 * console.log(error.status, error.message);
 * ```
 */
export class UpgradeFailedError extends Error {
  /** The response's HTTP status, or null when no well-formed response head arrived. */
  readonly status: number | null;
  /** The response's header fields; empty when no well-formed response head arrived. */
  readonly headers: Headers;

  /** Creates the error. */
  constructor(status: number | null, message: string, headers: Headers = new Headers()) {
    super(message);
    this.name = "UpgradeFailedError";
    this.status = status;
    this.headers = headers;
  }
}

/**
 * A send or close on a connection whose close frame has already been sent, or whose transport
 * has ended.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "./errors.ts";
 * const error = new ConnectionClosedError();
 * console.log(error.name); // "ConnectionClosedError"
 * ```
 */
export class ConnectionClosedError extends Error {
  /** Creates the error. */
  constructor(message = "the connection is closing or closed") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/**
 * A keepalive ping got no pong in time: the peer, or the path to it, is gone. The connection is
 * failed with `closeCode` 1011 and the reason "keepalive ping timeout", as python-websockets
 * does: the connection cannot go on, and the peer is probably not there to read it anyway.
 *
 * @example
 * ```ts
 * import { KeepaliveTimeoutError } from "./errors.ts";
 * const error = new KeepaliveTimeoutError(20_000);
 * console.log(error.closeCode, error.message); // 1011 "keepalive ping timeout"
 * ```
 */
export class KeepaliveTimeoutError extends Error {
  /** The close code the connection is failed with: 1011. */
  readonly closeCode: typeof CloseCode.InternalError = CloseCode.InternalError;
  /** How long the pong was waited for, in milliseconds. */
  readonly timeoutMs: number;

  /** Creates the error. */
  constructor(timeoutMs: number) {
    super("keepalive ping timeout");
    this.name = "KeepaliveTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The peer does not read what is sent to it fast enough: more than `maxBufferedBytes` stayed
 * queued for it past the grace time, or twice that was queued. With the `"close"` policy the
 * connection is failed with `closeCode` 1008 and the error goes to `onError`; with `"drop"`, a
 * `send()` made while the queue is over the limit rejects with it and the message is dropped.
 *
 * 1008 (RFC 6455 §7.4.1) is the generic code for a peer that breaks the endpoint's policy; 1013
 * ("try again later") would blame the server's load, and 1011 an error of its own.
 *
 * @example
 * ```ts
 * import { SlowConsumerError } from "./errors.ts";
 * const error = new SlowConsumerError(5_000_000, 4_194_304);
 * console.log(error.closeCode, error.bufferedAmount); // 1008 5000000
 * ```
 */
export class SlowConsumerError extends Error {
  /** The close code the connection is failed with: 1008. */
  readonly closeCode: typeof CloseCode.PolicyViolation = CloseCode.PolicyViolation;
  /** Bytes queued for the peer when it was found too slow. */
  readonly bufferedAmount: number;
  /** The limit it was over. */
  readonly maxBufferedBytes: number;

  /** Creates the error. */
  constructor(bufferedAmount: number, maxBufferedBytes: number) {
    super(`slow consumer: ${bufferedAmount} bytes queued, over ${maxBufferedBytes}`);
    this.name = "SlowConsumerError";
    this.bufferedAmount = bufferedAmount;
    this.maxBufferedBytes = maxBufferedBytes;
  }
}

/**
 * Why this end failed a connection: the peer broke the protocol, left a keepalive ping
 * unanswered, or did not read. Each carries the `closeCode` its close frame was sent with.
 *
 * @example
 * ```ts
 * import type { ConnectionFailure } from "./errors.ts";
 * const describe = (failure: ConnectionFailure) => `${failure.closeCode} ${failure.message}`;
 * ```
 */
export type ConnectionFailure = ProtocolError | KeepaliveTimeoutError | SlowConsumerError;

/** What a {@linkcode WebSocketError} carries: a close code and reason. */
export interface WebSocketErrorInit {
  /** The close code. */
  closeCode?: number;
  /** The close reason. @default {""} */
  reason?: string;
}

/**
 * The error of the WHATWG `WebSocketStream` proposal: a `WebSocketStream`'s `closed` rejects
 * with one when the connection did not close cleanly, and one given as the reason for cancelling
 * a connection's `readable` or aborting its `writable` closes it with its code and reason.
 *
 * @example
 * ```ts
 * import { WebSocketError } from "./errors.ts";
 * const error = new WebSocketError("bye", { closeCode: 4000, reason: "moved" });
 * console.log(error.name, error.closeCode, error.reason); // "WebSocketError" 4000 "moved"
 * ```
 */
export class WebSocketError extends DOMException {
  /** The close code, or null for none. */
  readonly closeCode: number | null;
  /** The close reason. */
  readonly reason: string;

  /** Creates the error. */
  constructor(message = "", init: WebSocketErrorInit = {}) {
    super(message, "WebSocketError");
    this.closeCode = init.closeCode ?? null;
    this.reason = init.reason ?? "";
  }
}
