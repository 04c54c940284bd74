/**
 * Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4), and how a connection stands
 * towards its close: its state, and how it ended.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { type ConnectionFailure, ProtocolError } from "./errors.ts";
import { decodeUtf8 } from "./utf8.ts";

/** The largest close reason in UTF-8 bytes: a control frame carries ≤ 125 bytes, 2 are the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A close frame's content. `code` is 1005 when the frame carried no code.
 *
 * @example
 * ```ts
 * import type { CloseFrame } from "./close.ts";
 * const frame: CloseFrame = { code: 1000, reason: "bye" };
 * ```
 */
export interface CloseFrame {
  /** The status code, or 1005 ({@linkcode CloseCode.NoStatusReceived}) for an empty payload. */
  code: number;
  /** The UTF-8 reason, possibly empty. */
  reason: string;
}

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4).
 *
 * 1004, 1005, 1006 and 1015 are reserved for local use; 1016–2999 are reserved for future
 * protocol use; 3000–4999 belong to libraries and applications.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isValidCloseCode } from "./close.ts";
 * assert(isValidCloseCode(1000));
 * assert(!isValidCloseCode(1005));
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

/**
 * Reads a received close frame's payload, rejecting what RFC 6455 §5.5.1 and §7.4 forbid.
 *
 * @throws {ProtocolError} 1002 for a one-byte payload or a code not allowed on the wire,
 * 1007 for a reason that is not UTF-8.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseClosePayload } from "./close.ts";
 * assertEquals(parseClosePayload(new Uint8Array([0x03, 0xe8, 0x6f, 0x6b])), { code: 1000, reason: "ok" });
 * assertEquals(parseClosePayload(new Uint8Array()), { code: 1005, reason: "" });
 * ```
 */
export function parseClosePayload(payload: Uint8Array): CloseFrame {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: "" };
  if (payload.length === 1) {
    throw new ProtocolError(CloseCode.ProtocolError, "close frame payload of one byte");
  }
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) {
    throw new ProtocolError(CloseCode.ProtocolError, `invalid close code ${code}`);
  }
  return { code, reason: decodeUtf8(payload.subarray(2)) };
}

const encoder = new TextEncoder();

/**
 * Builds a close frame's payload: the code in network byte order, then the UTF-8 reason.
 *
 * @throws {RangeError} for a code that may not be sent or a reason over 123 bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeClosePayload } from "./close.ts";
 * assertEquals(encodeClosePayload(1000, "ok"), new Uint8Array([0x03, 0xe8, 0x6f, 0x6b]));
 * ```
 */
export function encodeClosePayload(code: number, reason = ""): Uint8Array {
  if (!isValidCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
  const reasonBytes = encoder.encode(reason);
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason is ${reasonBytes.length} bytes, over 123`);
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

/**
 * Where a connection is: `open` until a close frame is sent or received or the peer breaks the
 * protocol, then `closing` until the transport ends, then `closed`.
 */
export type ConnectionState = "open" | "closing" | "closed";

/**
 * How a connection ended, as a `CloseEvent` reports it.
 *
 * @example
 * ```ts
 * import type { CloseInfo } from "./close.ts";
 * const info: CloseInfo = { code: 1000, reason: "done", wasClean: true };
 * ```
 */
export interface CloseInfo {
  /** The code in the peer's close frame; 1005 if it had none; 1006 if none came. */
  code: number;
  /** The reason in the peer's close frame, or "". */
  reason: string;
  /** Whether close frames went both ways. */
  wasClean: boolean;
  /**
   * Why this end failed the connection, when it did: the peer's protocol violation, a keepalive
   * ping left unanswered, or a peer that did not read what was sent to it.
   */
  error?: ConnectionFailure;
}
