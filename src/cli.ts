/**
 * The command line: `deno run --allow-net mod.ts [--port N] [--hostname H] [limits]`, or the same
 * options after `bun mod.ts`, serves an echo handler and the test page.
 *
 * @module
 */

import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./protocol/limits.ts";
import { runtime } from "./runtime/mod.ts";
import { serve } from "./server.ts";
import { ListenError } from "./transport.ts";

/** The help text. */
export const USAGE = `Usage: deno run --allow-net mod.ts [options]
       bun mod.ts [options]

Serves a WebSocket echo server and its test page.

Options:
  --port <port>                 TCP port to listen on, 0 for any free one (default: 8000)
  --hostname <address>          interface to listen on (default: 0.0.0.0, all interfaces)
  --max-connections <count>     most WebSockets open at once; over it, 503 (default: ${DEFAULT_MAX_CONNECTIONS})
  --max-message-bytes <bytes>   largest message; over it, close 1009 (default: ${DEFAULT_MAX_MESSAGE_BYTES}, 64 MiB)
  --max-header-bytes <bytes>    largest request head; over it, 431 (default: ${DEFAULT_MAX_HEADER_BYTES}, 16 KiB)
  --cert <file> --key <file>    serve TLS (wss://, https://) with this PEM certificate chain and key
  --deflate, --no-deflate       accept permessage-deflate (compression) with its defaults, or not
                                (default: not)
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
const TEXT_OPTIONS = new Map<string, "hostname" | "cert" | "key">([
  ["--hostname", "hostname"],
  ["--cert", "cert"],
  ["--key", "key"],
]);

/**
 * A command line that cannot be run: a one-line message, and exit code 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./cli.ts";
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
 * import { parseArgs } from "./cli.ts";
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
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [name, inlineValue] = args[i].split(/=(.*)/s, 2);
    if (name === "-h" || name === "--help") {
      options.help = true;
      continue;
    }
    if (name === "--deflate" || name === "--no-deflate") {
      if (inlineValue !== undefined) throw new UsageError(`${name} takes no value`);
      options.deflate = name === "--deflate";
      continue;
    }
    const number = NUMBER_OPTIONS.get(name);
    const text = TEXT_OPTIONS.get(name);
    if (text === undefined && number === undefined) {
      throw new UsageError(`unknown argument ${args[i]}`);
    }
    const value = inlineValue ?? args[++i];
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
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
  return options;
}

/** The URL to print, with `localhost` for the all-interfaces address. */
function displayUrl(hostname: string, port: number, secure: boolean): string {
  const host = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}/`;
}

/**
 * Runs the command line and resolves with the process exit code: 0 after the server stops (on
 * SIGINT or SIGTERM it shuts down gracefully), 1 when it cannot listen or read its TLS files, 2 for
 * a bad command line.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./cli.ts";
 * assertEquals(await main(["--help"]), 0);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message} (see --help)`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  let tls: { cert: string; key: string } | undefined;
  if (options.cert !== undefined && options.key !== undefined) {
    try {
      tls = {
        cert: await runtime.readTextFile(options.cert),
        key: await runtime.readTextFile(options.key),
      };
    } catch (error) {
      console.error(`error: cannot read the TLS certificate or key: ${(error as Error).message}`);
      return 1;
    }
  }
  let server;
  try {
    const { port, hostname, maxConnections, maxMessageBytes, maxHeaderBytes, deflate } = options;
    server = serve(
      { port, hostname, maxConnections, maxMessageBytes, maxHeaderBytes, deflate, ...tls },
      (message) => message,
    );
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  const url = displayUrl(server.addr.hostname, server.addr.port, tls !== undefined);
  console.log(`Listening on ${url} (WebSocket: ${url.replace("http", "ws")})`);
  // SIGINT or SIGTERM: close every connection with 1001, wait for their close handshakes, exit 0.
  // A second signal does not wait for the connections: it exits at once, with 130 as shells do.
  let signalled = false;
  const stopListening = runtime.onStopSignal(() => {
    if (signalled) runtime.exit(130);
    signalled = true;
    console.log("Shutting down");
    server.shutdown();
  });
  await server.finished;
  stopListening();
  return 0;
}
