/**
 * The close codes, by name: in a file of their own, as errors and close frames both need them.
 *
 * @module
 */

/**
 * The close codes of RFC 6455 §7.4.1 and the IANA registry, by name.
 *
 * A `const` object rather than an `enum`, so type stripping keeps it intact.
 *
 * @example Close a connection because a message was too big
 * ```ts
 * import { CloseCode } from "./close_code.ts";
 * console.log(CloseCode.MessageTooBig); // 1009
 * ```
 */
export const CloseCode = {
  /** The purpose of the connection is fulfilled. */
  Normal: 1000,
  /** The endpoint is going away: server shutdown, page navigation. */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** The endpoint cannot accept this kind of data. */
  UnsupportedData: 1003,
  /** Never sent: the close frame had no status code. */
  NoStatusReceived: 1005,
  /** Never sent: the connection ended without a close frame. */
  AbnormalClosure: 1006,
  /** A text message was not valid UTF-8. */
  InvalidPayload: 1007,
  /** The message violates the endpoint's policy. */
  PolicyViolation: 1008,
  /** A message exceeded the size limit. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not negotiate. */
  MandatoryExtension: 1010,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded; try again later. */
  TryAgainLater: 1013,
  /** A gateway got an invalid response upstream. */
  BadGateway: 1014,
} as const;
