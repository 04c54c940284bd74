/**
 * permessage-deflate on a server and a client: the option both take, the server's offer
 * acceptance with its cap on compressing connections, and the codec each connection gets.
 *
 * @module
 */

import { DeflateCodec, type DeflateCodecOptions, deflateSupported } from "./protocol/deflate.ts";
import { HandshakeError, UpgradeFailedError } from "./protocol/errors.ts";
import { type ExtensionHeader, parseExtensions } from "./protocol/extensions.ts";
import {
  acceptDeflateOffer,
  acceptDeflateResponse,
  type DeflateOptions,
  type DeflateParameters,
  type DeflateSettings,
  deflateSettings,
} from "./protocol/permessage_deflate.ts";

/**
 * The `deflate` option of `serve()` and `connect()`: `true` for permessage-deflate with its
 * defaults, an object to tune it, `false` for none.
 *
 * @example Compress, with no window kept between the messages sent (no memory held per connection for it)
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * serve({ deflate: { serverNoContextTakeover: true } }, (message) => message);
 * ```
 */
export type DeflateOption = boolean | DeflateOptions;

/**
 * The settings of a server's or a client's `deflate` option, or null when it asks for no
 * compression.
 *
 * @throws {RangeError} for an option out of its range.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deflateOptionSettings } from "./compression.ts";
 * assertEquals(deflateOptionSettings(false, "server"), null);
 * assertEquals(deflateOptionSettings({ threshold: 0 }, "client")?.threshold, 0);
 * ```
 */
export function deflateOptionSettings(
  option: DeflateOption | undefined,
  role: "server" | "client",
): DeflateSettings | null {
  if (option === undefined || option === false) return null;
  return deflateSettings(option === true ? {} : option, role);
}

/**
 * The codec of one connection, for what both ends agreed: each end compresses with its own
 * window and inflates with the peer's. `onClose` is called once the codec is closed.
 *
 * @example
 * ```ts
 * import { deflateCodec } from "./compression.ts";
 * import { deflateSettings } from "./protocol/permessage_deflate.ts";
 * const parameters = {
 *   serverNoContextTakeover: false, clientNoContextTakeover: false,
 *   serverMaxWindowBits: 12, clientMaxWindowBits: 15,
 * };
 * const codec = deflateCodec("server", parameters, deflateSettings());
 * codec.close();
 * ```
 */
export function deflateCodec(
  role: "server" | "client",
  parameters: DeflateParameters,
  settings: DeflateSettings,
  onClose?: () => void,
): DeflateCodec {
  // Each end compresses within the window agreed for it, and within its own setting: a client
  // told nothing may still compress with less than 15 bits. Each inflates with the peer's.
  const server = {
    windowBits: parameters.serverMaxWindowBits,
    contextTakeover: !parameters.serverNoContextTakeover,
    setting: settings.serverMaxWindowBits,
  };
  const client = {
    windowBits: parameters.clientMaxWindowBits,
    contextTakeover: !parameters.clientNoContextTakeover,
    setting: settings.clientMaxWindowBits,
  };
  const [own, peer] = role === "server" ? [server, client] : [client, server];
  const options: DeflateCodecOptions = {
    deflateWindowBits: Math.min(own.windowBits, own.setting),
    // zlib raises a raw window of 8 to 9, so a peer told 8 may use 9; a larger window is safe.
    inflateWindowBits: Math.max(9, peer.windowBits),
    deflateContextTakeover: own.contextTakeover,
    inflateContextTakeover: peer.contextTakeover,
    level: settings.level,
    memLevel: settings.memLevel,
    threshold: settings.threshold,
  };
  return new DeflateCodec(options, onClose);
}

/**
 * The extensions a request offers in `Sec-WebSocket-Extensions`, most preferred first.
 *
 * @throws {HandshakeError} 400 for a malformed field.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { offeredExtensions } from "./compression.ts";
 * const headers = new Headers({ "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" });
 * assertEquals(offeredExtensions(headers)[0].name, "permessage-deflate");
 * ```
 */
export function offeredExtensions(headers: Headers): ExtensionHeader[] {
  const value = headers.get("sec-websocket-extensions");
  if (value === null) return [];
  try {
    return parseExtensions(value);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new HandshakeError(400, `invalid Sec-WebSocket-Extensions: ${error.message}`);
  }
}

/**
 * What a server accepted of a request's offer of permessage-deflate, or a client of a server's
 * answer: the field's value, and the connection's codec.
 *
 * @example
 * ```ts
 * import type { AcceptedDeflate } from "./compression.ts";
 * const describe = (accepted: AcceptedDeflate) => `agreed: ${accepted.response}`;
 * ```
 */
export interface AcceptedDeflate {
  /** The `Sec-WebSocket-Extensions` value of the 101 response. */
  response: string;
  /** The connection's codec. */
  codec: DeflateCodec;
}

/**
 * A server's side of permessage-deflate: accepts offers while fewer than `maxConnections`
 * connections compress, and counts them: a connection's place is given back when its codec is
 * closed (its transport ended, or its upgrade was refused).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DeflateAcceptor } from "./compression.ts";
 * import { deflateSettings } from "./protocol/permessage_deflate.ts";
 * const acceptor = new DeflateAcceptor(deflateSettings({ maxConnections: 1 }));
 * const offers = [{ name: "permessage-deflate", params: [] }];
 * const accepted = acceptor.accept(offers)!;
 * assertEquals(accepted.response, "permessage-deflate; server_no_context_takeover");
 * assertEquals(acceptor.accept(offers), null); // the one place is taken
 * accepted.codec.close();
 * assertEquals(acceptor.accept(offers)?.response, "permessage-deflate; server_no_context_takeover");
 * ```
 */
export class DeflateAcceptor {
  readonly #settings: DeflateSettings;
  #inUse = 0;

  /** Accepts offers as `settings` say. */
  constructor(settings: DeflateSettings) {
    this.#settings = settings;
  }

  /**
   * Accepts the first acceptable offer of permessage-deflate, taking a place until the codec is
   * closed; null when there is none, every place is taken, or this runtime cannot compress
   * synchronously.
   */
  accept(offers: readonly ExtensionHeader[]): AcceptedDeflate | null {
    if (this.#inUse >= this.#settings.maxConnections || !deflateSupported()) return null;
    const accepted = acceptDeflateOffer(offers, this.#settings);
    if (accepted === null) return null;
    this.#inUse++;
    const codec = deflateCodec("server", accepted.parameters, this.#settings, () => this.#inUse--);
    return { response: accepted.response, codec };
  }
}

/**
 * A client's side of permessage-deflate, once the server has answered its offer: the
 * extensions the server chose, and the codec for them; null when it chose none.
 *
 * @throws {UpgradeFailedError} for a response field that is malformed or does not answer the
 * offer (RFC 7692 §7.1: the client then fails the connection).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { acceptedDeflate } from "./compression.ts";
 * import { deflateSettings } from "./protocol/permessage_deflate.ts";
 * const response = "permessage-deflate; server_no_context_takeover";
 * const headers = new Headers({ "sec-websocket-extensions": response });
 * const accepted = acceptedDeflate(headers, deflateSettings({}, "client"))!;
 * assertEquals(accepted.response, response);
 * accepted.codec.close();
 * ```
 */
export function acceptedDeflate(
  headers: Headers,
  settings: DeflateSettings,
): AcceptedDeflate | null {
  const value = headers.get("sec-websocket-extensions");
  if (value === null) return null;
  let parameters: DeflateParameters;
  try {
    parameters = acceptDeflateResponse(parseExtensions(value), settings);
  } catch (error) {
    // Either way the response is refused, with its fields for whoever looks into it.
    if (error instanceof SyntaxError || error instanceof UpgradeFailedError) {
      throw new UpgradeFailedError(101, error.message, headers);
    }
    throw error;
  }
  return { response: value, codec: deflateCodec("client", parameters, settings) };
}
