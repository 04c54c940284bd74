/**
 * The command line's arguments: the help text, and the options they ask for.
 *
 * @module
 */

import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./protocol/limits.ts";

/** The help text. */
export const USAGE = `Usage: deno run --allow-net mod.ts [options]
       bun mod.ts [options]

Serves a WebSocket echo server (or, with --rooms, a room server) and its test page.

Options:
  --port <port>                 TCP port to listen on, 0 for any free one (default: 8000)
  --hostname <address>          interface to listen on (default: 0.0.0.0, all interfaces)
  --max-connections <count>     most WebSockets open at once; over it, 503 (default: ${DEFAULT_MAX_CONNECTIONS})
  --max-message-bytes <bytes>   largest message; over it, close 1009 (default: ${DEFAULT_MAX_MESSAGE_BYTES}, 64 MiB)
  --max-header-bytes <bytes>    largest request head; over it, 431 (default: ${DEFAULT_MAX_HEADER_BYTES}, 16 KiB)
  --cert <file> --key <file>    serve TLS (wss://, https://) with this PEM certificate chain and key
  --deflate, --no-deflate       accept permessage-deflate (compression) with its defaults, or not
                                (default: not)
  --rooms                       serve rooms instead of echoes: a WebSocket opened on path P joins
                                room P, and every message it sends goes to everyone in P, itself too
  --workers <count|auto>        copies of the server on as many threads, sharing the port; auto is
                                one per core (default: 1; on Deno with --allow-read)
  --redis <url>                 share rooms and topics with every server that uses this Redis
                                (redis://host:port; on Deno with --allow-env=REDIS_DEBUG_MAINTENANCE)
  -h, --help                    print this help and exit
`;

/** What the command line asks for. */
export interface CliOptions {
  /** The TCP port. */
  port: number;
  /** The interface to listen on. */
  hostname: string;
  /** The most WebSockets open at once. */
  maxConnections: number;
  /** The largest message, in bytes. */
  maxMessageBytes: number;
  /** The largest request head, in bytes. */
  maxHeaderBytes: number;
  /** The file of the TLS certificate chain, PEM; given with `key`. */
  cert?: string;
  /** The file of the TLS private key, PEM; given with `cert`. */
  key?: string;
  /** Whether to accept permessage-deflate, with its defaults. */
  deflate: boolean;
  /** Whether to serve rooms instead of echoes. */
  rooms: boolean;
  /** How many copies of the server, or one per core. */
  workers: number | "auto";
  /** The Redis to share topics through, if any. */
  redis?: string;
  /** Whether only the help was asked for. */
  help: boolean;
}

/** The options that take a whole number: the field it sets, and its range. */
const NUMBER_OPTIONS = new Map<
  string,
  {
    field: "port" | "maxConnections" | "maxMessageBytes" | "maxHeaderBytes";
    min: number;
    max: number;
  }
>([
  ["--port", { field: "port", min: 0, max: 65535 }],
  ["--max-connections", { field: "maxConnections", min: 1, max: Number.MAX_SAFE_INTEGER }],
  ["--max-message-bytes", { field: "maxMessageBytes", min: 1, max: Number.MAX_SAFE_INTEGER }],
  ["--max-header-bytes", { field: "maxHeaderBytes", min: 1, max: Number.MAX_SAFE_INTEGER }],
]);

/** The options that take text: the field each sets. */
const TEXT_OPTIONS = new Map<string, "hostname" | "cert" | "key" | "redis">([
  ["--hostname", "hostname"],
  ["--cert", "cert"],
  ["--key", "key"],
  ["--redis", "redis"],
]);

/** The switches, which take no value: the field each sets, and to what. */
const SWITCHES = new Map<string, ["deflate" | "rooms", boolean]>([
  ["--deflate", ["deflate", true]],
  ["--no-deflate", ["deflate", false]],
  ["--rooms", ["rooms", true]],
]);

/** The most copies `--workers` may ask for. */
const MAX_WORKERS = 256;

/**
 * A command line that cannot be run: a one-line message, and exit code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./cli_args.ts";
 * console.log(new UsageError("unknown option --foo").message);
 * ```
 */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses the arguments. Options take their value as the next argument or after `=`.
 *
 * @throws {UsageError} for an unknown option, a missing value (or a value given to a switch), or
 * a number out of its range.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseArgs } from "./cli_args.ts";
 * const options = parseArgs(["--port=9000", "--max-connections", "100"]);
 * assertEquals([options.port, options.maxConnections], [9000, 100]);
 * ```
 */
export function parseArgs(args: readonly string[]): CliOptions {
  const options: CliOptions = {
    port: 8000,
    hostname: "0.0.0.0",
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
    deflate: false,
    rooms: false,
    workers: 1,
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [name, inlineValue] = args[i].split(/=(.*)/s, 2);
    if (name === "-h" || name === "--help") {
      options.help = true;
      continue;
    }
    const flag = SWITCHES.get(name);
    if (flag) {
      if (inlineValue !== undefined) throw new UsageError(`${name} takes no value`);
      options[flag[0]] = flag[1];
      continue;
    }
    const number = NUMBER_OPTIONS.get(name);
    const text = TEXT_OPTIONS.get(name);
    if (text === undefined && number === undefined && name !== "--workers") {
      throw new UsageError(`unknown argument ${args[i]}`);
    }
    const value = inlineValue ?? args[++i];
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
    if (name === "--workers") {
      options.workers = workersValue(value);
      continue;
    }
    if (number === undefined) {
      options[text!] = value;
      continue;
    }
    const { field, min, max } = number;
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
      throw new UsageError(`${name} must be a whole number ${range}, not ${value}`);
    }
    options[field] = parsed;
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (options.redis !== undefined && !/^rediss?:$/.test(URL.parse(options.redis)?.protocol ?? "")) {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, not ${options.redis}`);
  }
  return options;
}

/** `--workers`' value: `auto`, or a whole number from 1 to {@linkcode MAX_WORKERS}. */
function workersValue(value: string): number | "auto" {
  if (value === "auto") return value;
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > MAX_WORKERS) {
    throw new UsageError(
      `--workers must be auto or a whole number from 1 to ${MAX_WORKERS}, not ${value}`,
    );
  }
  return count;
}
