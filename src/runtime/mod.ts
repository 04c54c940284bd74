/**
 * The runtime this process runs on, picked once at start-up: Bun's adapter when the `Bun`
 * global exists, Deno's otherwise. Code outside `src/runtime/` reaches the runtime only through
 * here; each adapter exports the same functions, so adding one (say `connect`) means adding it
 * to {@linkcode RuntimeAdapter} and to every adapter.
 *
 * @module
 */

import type {
  Listener,
  NetAddress,
  TlsCertificate,
  TlsClientOptions,
  Transport,
} from "../transport.ts";
import * as bun from "./bun.ts";
import * as deno from "./deno.ts";

/**
 * What every runtime adapter provides: an adapter is a module exporting these functions.
 *
 * @example
 * ```ts ignore
 * import type { RuntimeAdapter } from "./mod.ts";
 * import * as deno from "./deno.ts";
 * const adapter: RuntimeAdapter = deno;
 * ```
 */
export interface RuntimeAdapter {
  /** Listens on TCP, or TLS with a certificate; throws a `ListenError` when it cannot. */
  listen(address: NetAddress, tls?: TlsCertificate): Listener;
  /** Opens a TCP connection, with Nagle's algorithm off; with `tls`, a checked TLS one. */
  connect(address: NetAddress, tls?: TlsClientOptions): Promise<Transport>;
  /** The command line's arguments, after the script. */
  args(): string[];
  /** Ends the process with `code`. */
  exit(code: number): never;
  /** Reads a text file. */
  readTextFile(path: string): Promise<string>;
  /** Calls `handler` on SIGINT and SIGTERM instead of ending; returns how to stop listening. */
  onStopSignal(handler: () => void): () => void;
}

const adapter: RuntimeAdapter = "Bun" in globalThis ? bun : deno;

/**
 * Listens on TCP through this runtime's adapter, with Nagle's algorithm off on accepted
 * connections.
 *
 * @throws {ListenError} when the address cannot be listened on.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const transport = await listener.accept();
 * ```
 */
export const listen: RuntimeAdapter["listen"] = adapter.listen;

/**
 * Opens a TCP connection through this runtime's adapter, with Nagle's algorithm off.
 *
 * @throws the runtime's own error when nothing listens there.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * const transport = await connect({ hostname: "127.0.0.1", port: 8000 });
 * transport.close();
 * ```
 */
export const connect: RuntimeAdapter["connect"] = adapter.connect;

/**
 * The command line's arguments, after the script.
 *
 * @example
 * ```ts
 * import { args } from "./mod.ts";
 * console.log(args());
 * ```
 */
export const args: RuntimeAdapter["args"] = adapter.args;

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts ignore
 * import { exit } from "./mod.ts";
 * exit(0);
 * ```
 */
export const exit: RuntimeAdapter["exit"] = adapter.exit;

/**
 * Calls `handler` on SIGINT and SIGTERM, which then no longer end the process; returns the
 * function that stops listening for them.
 *
 * @example
 * ```ts ignore
 * import { onStopSignal } from "./mod.ts";
 * const stopListening = onStopSignal(() => console.log("stopping"));
 * stopListening();
 * ```
 */
export const onStopSignal: RuntimeAdapter["onStopSignal"] = adapter.onStopSignal;

/**
 * Reads a text file.
 *
 * @example
 * ```ts ignore
 * import { readTextFile } from "./mod.ts";
 * const cert = await readTextFile("cert.pem");
 * ```
 */
export const readTextFile: RuntimeAdapter["readTextFile"] = adapter.readTextFile;
