/**
 * The runtime this process runs on, picked once at start-up: Bun's adapter when the `Bun` global
 * exists, Deno's when the `Deno` global does, Node's otherwise. Only the chosen adapter's module
 * is loaded. Code outside `src/runtime/` reaches the runtime only through {@linkcode runtime};
 * adding a capability means adding it to {@linkcode RuntimeAdapter} and to every adapter.
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

/**
 * What every runtime adapter provides: TCP (and TLS) as the `Listener` and `Transport` of
 * `src/transport.ts`, and the process's arguments, exit, stop signals and files.
 *
 * @example An adapter is an object of these functions
 * ```ts ignore
 * import type { RuntimeAdapter } from "./mod.ts";
 * import { deno } from "./deno.ts";
 * const adapter: RuntimeAdapter = deno;
 * ```
 */
export interface RuntimeAdapter {
  /**
   * Listens on TCP, or on TLS over TCP with a certificate. Accepted connections have Nagle's
   * algorithm off, as replies are small and latency matters.
   *
   * @throws {ListenError} when the address cannot be listened on.
   */
  listen(address: NetAddress, tls?: TlsCertificate): Listener;
  /**
   * Opens a TCP connection with Nagle's algorithm off; with `tls`, a TLS connection whose
   * certificate has been checked by the time this resolves.
   *
   * @throws the runtime's own error when nothing listens there, or the certificate does not
   * check out.
   */
  connect(address: NetAddress, tls?: TlsClientOptions): Promise<Transport>;
  /** The command line's arguments, after the script. */
  args(): string[];
  /** Ends the process with `code`. */
  exit(code: number): never;
  /** Reads a text file, UTF-8. */
  readTextFile(path: string): Promise<string>;
  /**
   * Calls `handler` on SIGINT and SIGTERM, which then no longer end the process; returns the
   * function that stops listening for them.
   */
  onStopSignal(handler: () => void): () => void;
}

/**
 * This process's runtime adapter.
 *
 * @example
 * ```ts ignore
 * import { runtime } from "./mod.ts";
 * const listener = runtime.listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(runtime.args(), listener.addr.port);
 * listener.close();
 * ```
 */
export const runtime: RuntimeAdapter = "Bun" in globalThis
  ? (await import("./bun.ts")).bun
  : "Deno" in globalThis
  ? (await import("./deno.ts")).deno
  : (await import("./node.ts")).node;
