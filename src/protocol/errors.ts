/**
 * The typed errors of the protocol: each carries what goes on the wire in its place.
 *
 * @module
 */

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
  return new ProtocolError(1002, reason);
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
