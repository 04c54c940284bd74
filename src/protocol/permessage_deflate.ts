/**
 * The negotiation of permessage-deflate (RFC 7692 §5, §7.1): the options of either end, a
 * server's answer to a client's offers, and a client's offer and its check of the answer. The
 * compression itself is not here: these functions only agree on its parameters.
 *
 * @module
 */

import { UpgradeFailedError } from "./errors.ts";
import { type ExtensionHeader, formatExtension } from "./extensions.ts";
import {
  DEFAULT_DEFLATE_LEVEL,
  DEFAULT_DEFLATE_MAX_CONNECTIONS,
  DEFAULT_DEFLATE_MAX_WINDOW_BITS,
  DEFAULT_DEFLATE_MEM_LEVEL,
  DEFAULT_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER,
  DEFAULT_DEFLATE_THRESHOLD_BYTES,
} from "./limits.ts";

/** The extension's name in `Sec-WebSocket-Extensions`. */
const PERMESSAGE_DEFLATE = "permessage-deflate";

/** The largest window, and the one an end uses when the other did not limit it (RFC 7692 §7.1.2). */
const MAX_WINDOW_BITS = 15;

/** RFC 7692 §7.1.2: a window size is a decimal integer from 8 to 15, without leading zeros. */
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * Options of permessage-deflate, for a server or a client. The two `…NoContextTakeover` and
 * `…MaxWindowBits` options are negotiated; the others only tune this end's compressor.
 *
 * @example A server that keeps no context between messages
 * ```ts
 * import type { DeflateOptions } from "./permessage_deflate.ts";
 * const options: DeflateOptions = { serverNoContextTakeover: true, threshold: 256 };
 * ```
 */
export interface DeflateOptions {
  /**
   * Whether the server compresses each message on its own, at some cost in ratio for small
   * messages (see the README). Then one compressor serves every connection, reset after each
   * message, instead of one per connection: zlib's compressor takes 140 to 220 KiB whatever its
   * window. A server says so in its response; a client asks for it and fails the handshake if
   * the server does not agree.
   * @default `true` on a server, `false` on a client (which does not ask for it)
   */
  serverNoContextTakeover?: boolean;
  /**
   * Whether the client compresses each message on its own, so the server's decompressor can be
   * freed between messages. A client says so in its offer; a server tells every client it
   * accepts to do so (RFC 7692 §7.1.1.2 lets a server add it to its response).
   * @default {false}
   */
  clientNoContextTakeover?: boolean;
  /**
   * The server's window, in bits (9 to 15): a server compresses with at most this, a client asks
   * the server to. 8 is not allowed: zlib cannot compress raw deflate within 256 bytes (it refuses
   * a window of 8, and Node's binding raises it to 9), so a peer told 8 could receive distances
   * it cannot follow. A client offers a limit only below 15.
   * @default {15}
   */
  serverMaxWindowBits?: number;
  /**
   * The client's window, in bits (9 to 15): a client compresses with at most this and offers it,
   * a server asks the clients that let it for at most this. A client that does not let the
   * server limit its window (Firefox) is accepted with 15.
   * @default {15}
   */
  clientMaxWindowBits?: number;
  /** Messages smaller than this many bytes are sent uncompressed; 0 compresses all. @default {1024} */
  threshold?: number;
  /** zlib's compression level, from 0 (none) to 9 (best), or -1 for zlib's default (6). @default {6} */
  level?: number;
  /**
   * zlib's `memLevel`, from 1 to 9: how much memory the compressor uses for speed and ratio.
   * @default {8}
   */
  memLevel?: number;
  /**
   * The most connections using the extension at once (0 or more, or `Infinity`); those past it
   * go without compression.
   * @default {4096}
   */
  maxConnections?: number;
}

/**
 * {@linkcode DeflateOptions} with every default filled in and checked, as
 * {@linkcode deflateSettings} returns them.
 *
 * @example
 * ```ts
 * import { type DeflateSettings, deflateSettings } from "./permessage_deflate.ts";
 * const settings: DeflateSettings = deflateSettings({ level: 1 });
 * ```
 */
export type DeflateSettings = Required<DeflateOptions>;

/**
 * Fills in the defaults of {@linkcode DeflateOptions} for a server or a client, and checks each
 * value.
 *
 * @throws {RangeError} for a value out of its range, or not a whole number.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { deflateSettings } from "./permessage_deflate.ts";
 * assertEquals(deflateSettings().serverMaxWindowBits, 15);
 * assertEquals(deflateSettings({}, "client").serverNoContextTakeover, false);
 * assertThrows(() => deflateSettings({ clientMaxWindowBits: 8 }), RangeError);
 * ```
 */
export function deflateSettings(
  options: DeflateOptions = {},
  role: "server" | "client" = "server",
): DeflateSettings {
  const settings: DeflateSettings = {
    serverNoContextTakeover: options.serverNoContextTakeover ??
      (role === "server" && DEFAULT_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER),
    clientNoContextTakeover: options.clientNoContextTakeover ?? false,
    serverMaxWindowBits: options.serverMaxWindowBits ?? DEFAULT_DEFLATE_MAX_WINDOW_BITS,
    clientMaxWindowBits: options.clientMaxWindowBits ?? DEFAULT_DEFLATE_MAX_WINDOW_BITS,
    threshold: options.threshold ?? DEFAULT_DEFLATE_THRESHOLD_BYTES,
    level: options.level ?? DEFAULT_DEFLATE_LEVEL,
    memLevel: options.memLevel ?? DEFAULT_DEFLATE_MEM_LEVEL,
    maxConnections: options.maxConnections ?? DEFAULT_DEFLATE_MAX_CONNECTIONS,
  };
  checkRange("serverMaxWindowBits", settings.serverMaxWindowBits, 9, MAX_WINDOW_BITS);
  checkRange("clientMaxWindowBits", settings.clientMaxWindowBits, 9, MAX_WINDOW_BITS);
  checkRange("threshold", settings.threshold, 0, Number.MAX_SAFE_INTEGER);
  checkRange("level", settings.level, -1, 9);
  checkRange("memLevel", settings.memLevel, 1, 9);
  if (settings.maxConnections !== Infinity) {
    checkRange("maxConnections", settings.maxConnections, 0, Number.MAX_SAFE_INTEGER);
  }
  return settings;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (Number.isInteger(value) && value >= min && value <= max) return;
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  throw new RangeError(`${name} must be a whole number ${range}, not ${value}`);
}

/**
 * What a server and a client agreed on for one connection. The window sizes are the largest
 * each end may compress with; an end may use a smaller one, and decompresses with at least 9
 * bits, which follows any stream a window of 8 produced.
 *
 * @example Chrome's offer, accepted with the default settings
 * ```ts
 * import type { DeflateParameters } from "./permessage_deflate.ts";
 * const parameters: DeflateParameters = {
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 15,
 *   clientMaxWindowBits: 15,
 * };
 * ```
 */
export interface DeflateParameters {
  /** Whether the server compresses each message on its own (`server_no_context_takeover`). */
  serverNoContextTakeover: boolean;
  /** Whether the client compresses each message on its own (`client_no_context_takeover`). */
  clientNoContextTakeover: boolean;
  /**
   * The server's window, in bits: the server compresses, the client decompresses with it. 9 to
   * 15, or 8 when a server told a client so.
   */
  serverMaxWindowBits: number;
  /**
   * The client's window, in bits: the client compresses, the server decompresses with it. 8 to
   * 15: 8 when a client offered no more, 15 when it did not let the server limit it.
   */
  clientMaxWindowBits: number;
}

/**
 * The parameters of one permessage-deflate offer or response, as given: a window size is
 * `true` when given without a value, and undefined when not given.
 */
interface GivenParameters {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits?: number | true;
  clientMaxWindowBits?: number | true;
}

/** The parameters RFC 7692 §7.1 defines, in the order they are written. */
const PARAMETER_NAMES = {
  server_no_context_takeover: "serverNoContextTakeover",
  client_no_context_takeover: "clientNoContextTakeover",
  server_max_window_bits: "serverMaxWindowBits",
  client_max_window_bits: "clientMaxWindowBits",
} as const;

/**
 * Reads the parameters of a permessage-deflate offer or response with the rules both share
 * (RFC 7692 §7.1): each known and given once, no value for the `…_no_context_takeover` ones, and
 * window sizes from 8 to 15. Returns why it cannot be read instead, for a message.
 */
function readParameters(params: ExtensionHeader["params"]): GivenParameters | string {
  const given: GivenParameters = { serverNoContextTakeover: false, clientNoContextTakeover: false };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (!Object.hasOwn(PARAMETER_NAMES, name)) return `unknown parameter ${name}`;
    if (seen.has(name)) return `${name} is given twice`;
    seen.add(name);
    const key = PARAMETER_NAMES[name as keyof typeof PARAMETER_NAMES];
    if (key === "serverNoContextTakeover" || key === "clientNoContextTakeover") {
      if (value !== true) return `${name} has a value`;
      given[key] = true;
    } else if (value === true) {
      given[key] = true;
    } else if (WINDOW_BITS.test(value)) {
      given[key] = Number(value);
    } else {
      return `${name}=${value} is not a window size from 8 to 15`;
    }
  }
  return given;
}

/** Writes permessage-deflate with the parameters given, in RFC 7692's order. */
function formatParameters(given: GivenParameters): string {
  const params: ExtensionHeader["params"] = [];
  for (const [name, key] of Object.entries(PARAMETER_NAMES)) {
    const value = given[key];
    if (value === true) params.push([name, true]);
    else if (typeof value === "number") params.push([name, String(value)]);
  }
  return formatExtension({ name: PERMESSAGE_DEFLATE, params });
}

/**
 * A server's answer to a client's extension offers (RFC 7692 §5, §7.1): the first acceptable
 * permessage-deflate offer, in the client's order of preference, with the agreed parameters and
 * the `Sec-WebSocket-Extensions` value that accepts it; null when no offer is acceptable.
 *
 * Other extensions are skipped. An offer is declined for a parameter that is unknown, given
 * twice, or invalid, and for `server_max_window_bits=8`: zlib cannot compress within 256 bytes
 * (RFC 7692 §7.1.2.1 lets a server decline a window it does not support). The response adds
 * what the settings impose: `server_no_context_takeover`, `client_no_context_takeover`, and a
 * server window under 15; it limits the client's window when the offer lets it.
 *
 * @example Chrome's offer
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExtensions } from "./extensions.ts";
 * import { acceptDeflateOffer, deflateSettings } from "./permessage_deflate.ts";
 * const offers = parseExtensions("permessage-deflate; client_max_window_bits");
 * assertEquals(acceptDeflateOffer(offers, deflateSettings()), {
 *   parameters: {
 *     serverNoContextTakeover: true,
 *     clientNoContextTakeover: false,
 *     serverMaxWindowBits: 15,
 *     clientMaxWindowBits: 15,
 *   },
 *   response: "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
 * });
 * ```
 */
export function acceptDeflateOffer(
  offers: readonly ExtensionHeader[],
  settings: DeflateSettings,
): { parameters: DeflateParameters; response: string } | null {
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const offered = readParameters(offer.params);
    if (typeof offered === "string") continue;
    const { serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits } = offered;
    // RFC 7692 §7.1.2.1: server_max_window_bits has a value in an offer, and a server may
    // decline one it does not support, as 8 is here.
    if (serverBits === true || serverBits === 8) continue;
    const parameters: DeflateParameters = {
      serverNoContextTakeover: offered.serverNoContextTakeover || settings.serverNoContextTakeover,
      clientNoContextTakeover: offered.clientNoContextTakeover || settings.clientNoContextTakeover,
      serverMaxWindowBits: Math.min(serverBits ?? MAX_WINDOW_BITS, settings.serverMaxWindowBits),
      // RFC 7692 §7.1.2.2: without client_max_window_bits in the offer, the client's window
      // cannot be limited.
      clientMaxWindowBits: clientBits === undefined ? MAX_WINDOW_BITS : Math.min(
        clientBits === true ? MAX_WINDOW_BITS : clientBits,
        settings.clientMaxWindowBits,
      ),
    };
    const response = formatParameters({
      serverNoContextTakeover: parameters.serverNoContextTakeover,
      clientNoContextTakeover: parameters.clientNoContextTakeover,
      serverMaxWindowBits:
        serverBits !== undefined || parameters.serverMaxWindowBits < MAX_WINDOW_BITS
          ? parameters.serverMaxWindowBits
          : undefined,
      clientMaxWindowBits: clientBits === undefined ? undefined : parameters.clientMaxWindowBits,
    });
    return { parameters, response };
  }
  return null;
}

/**
 * The `Sec-WebSocket-Extensions` value a client offers (RFC 7692 §7.1): permessage-deflate, with
 * `client_max_window_bits` so the server may limit the client's window (with the client's own
 * limit when under 15), and what the settings ask of the server.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deflateOffer, deflateSettings } from "./permessage_deflate.ts";
 * assertEquals(deflateOffer(deflateSettings({}, "client")), "permessage-deflate; client_max_window_bits");
 * assertEquals(
 *   deflateOffer(deflateSettings({ clientMaxWindowBits: 12 }, "client")),
 *   "permessage-deflate; client_max_window_bits=12",
 * );
 * ```
 */
export function deflateOffer(settings: DeflateSettings): string {
  return formatParameters({
    serverNoContextTakeover: settings.serverNoContextTakeover,
    clientNoContextTakeover: settings.clientNoContextTakeover,
    serverMaxWindowBits: settings.serverMaxWindowBits < MAX_WINDOW_BITS
      ? settings.serverMaxWindowBits
      : undefined,
    clientMaxWindowBits: settings.clientMaxWindowBits < MAX_WINDOW_BITS
      ? settings.clientMaxWindowBits
      : true,
  });
}

/**
 * Checks a server's `Sec-WebSocket-Extensions`, read with `parseExtensions`, against the offer
 * {@linkcode deflateOffer} made with the same settings (RFC 7692 §7.1), and returns what was
 * agreed: the response's parameters, a window of 15 where it names none, and no context
 * takeover for the client also when the settings ask for it.
 *
 * @throws {UpgradeFailedError} with status 101 for a response that names another extension or
 * more than one; whose parameters are unknown, given twice or invalid; that leaves out
 * `server_max_window_bits` or `server_no_context_takeover` when offered, or sets a window over the
 * one offered; or that sets `client_max_window_bits=8` (zlib cannot compress within 256 bytes).
 *
 * @example This library's server's answer to the default offer
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExtensions } from "./extensions.ts";
 * import { acceptDeflateResponse, deflateSettings } from "./permessage_deflate.ts";
 * const response = parseExtensions(
 *   "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
 * );
 * assertEquals(acceptDeflateResponse(response, deflateSettings({}, "client")), {
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 15,
 *   clientMaxWindowBits: 15,
 * });
 * ```
 */
export function acceptDeflateResponse(
  extensions: readonly ExtensionHeader[],
  settings: DeflateSettings,
): DeflateParameters {
  const fail = (message: string) => new UpgradeFailedError(101, message);
  const other = extensions.find((extension) => extension.name !== PERMESSAGE_DEFLATE);
  if (other !== undefined) throw fail(`the server chose the extension ${other.name}, not offered`);
  if (extensions.length === 0) {
    throw fail("the server's Sec-WebSocket-Extensions names no extension");
  }
  if (extensions.length > 1) {
    throw fail(`the server chose permessage-deflate ${extensions.length} times, not once`);
  }
  const given = readParameters(extensions[0].params);
  if (typeof given === "string") throw fail(`the server's permessage-deflate is invalid: ${given}`);
  const { serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits } = given;
  // RFC 7692 §7.1.2: in a response, both window sizes have a value.
  if (serverBits === true || clientBits === true) {
    const name = serverBits === true ? "server_max_window_bits" : "client_max_window_bits";
    throw fail(`the server's permessage-deflate is invalid: ${name} has no value`);
  }
  // RFC 7692 §7.1.2.1: a server accepts an offered server_max_window_bits by answering with the
  // same value or a smaller one (and nothing offered allows up to 15).
  if (serverBits === undefined && settings.serverMaxWindowBits < MAX_WINDOW_BITS) {
    throw fail("the server's permessage-deflate leaves out server_max_window_bits, offered");
  }
  if (serverBits !== undefined && serverBits > settings.serverMaxWindowBits) {
    throw fail(
      `the server's permessage-deflate sets server_max_window_bits=${serverBits}, over the ` +
        `${settings.serverMaxWindowBits} offered`,
    );
  }
  // RFC 7692 §7.1.2.2: the same for the client's window.
  if (clientBits !== undefined && clientBits > settings.clientMaxWindowBits) {
    throw fail(
      `the server's permessage-deflate sets client_max_window_bits=${clientBits}, over the ` +
        `${settings.clientMaxWindowBits} offered`,
    );
  }
  if (clientBits === 8) {
    throw fail(
      "the server's permessage-deflate sets client_max_window_bits=8, a window zlib cannot " +
        "compress within",
    );
  }
  // RFC 7692 §7.1.1.1: a server that accepts an offer with server_no_context_takeover says so.
  if (settings.serverNoContextTakeover && !given.serverNoContextTakeover) {
    throw fail("the server's permessage-deflate leaves out server_no_context_takeover, offered");
  }
  return {
    serverNoContextTakeover: given.serverNoContextTakeover,
    clientNoContextTakeover: given.clientNoContextTakeover || settings.clientNoContextTakeover,
    serverMaxWindowBits: serverBits ?? MAX_WINDOW_BITS,
    clientMaxWindowBits: clientBits ?? MAX_WINDOW_BITS,
  };
}
