/**
 * The command line: `deno run --allow-net mod.ts [--port N] [--hostname H]`, or the same options
 * after `bun mod.ts`, serves an echo handler and the test page.
 *
 * @module
 */

import { onStopSignal } from "./runtime/mod.ts";
import { serve } from "./server.ts";
import { ListenError } from "./transport.ts";

/** The help text. */
export const USAGE = `Usage: deno run --allow-net mod.ts [options]
       bun mod.ts [options]

Serves a WebSocket echo server and its test page.

Options:
  --port <port>          TCP port to listen on, 0 for any free one (default: 8000)
  --hostname <address>   interface to listen on (default: 0.0.0.0, all interfaces)
  -h, --help             print this help and exit
`;

/** What the command line asks for. */
export interface CliOptions {
  /** The TCP port. */
  port: number;
  /** The interface to listen on. */
  hostname: string;
  /** Whether only the help was asked for. */
  help: boolean;
}

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
 * @throws {UsageError} for an unknown option, a missing value, or a bad port.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseArgs } from "./cli.ts";
 * assertEquals(parseArgs(["--port=9000"]), { port: 9000, hostname: "0.0.0.0", help: false });
 * ```
 */
export function parseArgs(args: readonly string[]): CliOptions {
  const options: CliOptions = { port: 8000, hostname: "0.0.0.0", help: false };
  for (let i = 0; i < args.length; i++) {
    const [name, inlineValue] = args[i].split(/=(.*)/s, 2);
    if (name === "-h" || name === "--help") {
      options.help = true;
      continue;
    }
    if (name !== "--port" && name !== "--hostname") {
      throw new UsageError(`unknown argument ${args[i]}`);
    }
    const value = inlineValue ?? args[++i];
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
    if (name === "--hostname") {
      options.hostname = value;
      continue;
    }
    const port = Number(value);
    if (!/^\d+$/.test(value) || port > 65535) {
      throw new UsageError(`--port must be a whole number from 0 to 65535, not ${value}`);
    }
    options.port = port;
  }
  return options;
}

/** The URL to print, with `localhost` for the all-interfaces address. */
function displayUrl(hostname: string, port: number): string {
  const host = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `http://${host}:${port}/`;
}

/**
 * Runs the command line and resolves with the process exit code: 0 after the server stops (on
 * SIGINT or SIGTERM it shuts down gracefully), 1 when it cannot listen, 2 for a bad command line.
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
  let server;
  try {
    server = serve({ port: options.port, hostname: options.hostname }, (message) => message);
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  const url = displayUrl(server.addr.hostname, server.addr.port);
  console.log(`Listening on ${url} (WebSocket: ${url.replace("http", "ws")})`);
  // SIGINT or SIGTERM: close every connection with 1001, wait for their close handshakes, exit 0.
  const stopListening = onStopSignal(() => {
    console.log("Shutting down");
    server.shutdown();
  });
  await server.finished;
  stopListening();
  return 0;
}
