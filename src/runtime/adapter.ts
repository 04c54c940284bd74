/**
 * What a runtime adapter is: the one interface `deno.ts`, `bun.ts` (and any other adapter)
 * implement, and `mod.ts` picks one of at start-up.
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
 * import type { RuntimeAdapter } from "./adapter.ts";
 * import { deno } from "./deno.ts";
 * const adapter: RuntimeAdapter = deno;
 * ```
 */
export interface RuntimeAdapter {
  /**
   * Listens on TCP, or on TLS over TCP with a certificate. Accepted connections have Nagle's
   * algorithm off, as replies are small and latency matters. With `reusePort`, other listeners
   * (other workers) may listen on the same port, and the kernel shares the connections out among
   * them (`SO_REUSEPORT`, Linux).
   *
   * @throws {ListenError} when the address cannot be listened on, or `reusePort` is asked of a
   * runtime that cannot (Deno without `--unstable-net`, Node).
   */
  listen(address: NetAddress, tls?: TlsCertificate, reusePort?: boolean): Listener;
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
  /** The program's main module, the script the runtime was started with. */
  mainModule(): URL;
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
