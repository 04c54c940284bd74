/**
 * The Deno adapter: TCP listening through `Deno.listen`, connecting through `Deno.connect`, and the
 * process's arguments and exit.
 *
 * @module
 */

import {
  type Listener,
  ListenError,
  type NetAddress,
  type TlsCertificate,
  type TlsClientOptions,
  type Transport,
} from "../transport.ts";

/**
 * Listens on TCP, or on TLS over TCP with `tls`. Accepted TCP connections have Nagle's algorithm
 * off, as replies are small and latency matters.
 *
 * @throws {ListenError} when the address cannot be listened on.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./deno.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function listen(address: NetAddress, tls?: TlsCertificate): Listener {
  let listener: Deno.Listener<Deno.TcpConn | Deno.TlsConn, Deno.NetAddr>;
  try {
    const { hostname, port } = address;
    listener = tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key })
      : Deno.listen({ hostname, port });
  } catch (error) {
    throw new ListenError(address, listenFailure(error), error);
  }
  return {
    addr: { hostname: listener.addr.hostname, port: listener.addr.port },
    async accept(): Promise<Transport> {
      const conn = await listener.accept();
      try {
        if ("setNoDelay" in conn) conn.setNoDelay(true);
      } catch {
        // A connection reset as it was accepted: its first read will say so.
      }
      return conn;
    },
    close: () => listener.close(),
  };
}

/**
 * Opens a TCP connection, with Nagle's algorithm off, as accepted ones have it; with `tls`, a
 * TLS connection whose certificate has been checked by the time this resolves.
 *
 * @throws {Deno.errors.ConnectionRefused} when nothing listens there; with `tls`, the error of a
 * certificate that does not check out.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./deno.ts";
 * const transport = await connect({ hostname: "127.0.0.1", port: 8000 });
 * transport.close();
 * ```
 */
export async function connect(address: NetAddress, tls?: TlsClientOptions): Promise<Transport> {
  const { hostname, port } = address;
  const tcp = await Deno.connect({ hostname, port });
  tcp.setNoDelay(true);
  if (tls === undefined) return tcp;
  // TLS over the TCP connection made here, which keeps Nagle's algorithm off, as connectTls cannot.
  const caCerts = tls.caCerts ? [...tls.caCerts] : undefined;
  const conn = await Deno.startTls(tcp, { hostname, caCerts });
  try {
    await conn.handshake();
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

/** Deno's error classes, by name, in the words every adapter uses. */
function listenFailure(error: unknown): ListenError["failure"] {
  const name = error instanceof Error ? error.name : "";
  if (name === "AddrInUse" || name === "AddrNotAvailable") return name;
  // NotCapable: no --allow-net for this address; PermissionDenied: a port below 1024.
  if (name === "PermissionDenied" || name === "NotCapable") return "PermissionDenied";
  return "Other";
}

/**
 * Calls `handler` on SIGINT and SIGTERM, which then no longer end the process; returns the
 * function that stops listening for them.
 *
 * @example
 * ```ts ignore
 * import { onStopSignal } from "./deno.ts";
 * const stopListening = onStopSignal(() => console.log("stopping"));
 * stopListening();
 * ```
 */
export function onStopSignal(handler: () => void): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, handler);
  return () => {
    for (const signal of signals) Deno.removeSignalListener(signal, handler);
  };
}

/**
 * Reads a text file.
 *
 * @example
 * ```ts ignore
 * import { readTextFile } from "./deno.ts";
 * const cert = await readTextFile("cert.pem");
 * ```
 */
export function readTextFile(path: string): Promise<string> {
  return Deno.readTextFile(path);
}

/**
 * The command line's arguments, after the script.
 *
 * @example
 * ```ts ignore
 * import { args } from "./deno.ts";
 * console.log(args()); // ["--port", "9000"] for `deno run mod.ts --port 9000`
 * ```
 */
export function args(): string[] {
  return Deno.args;
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts ignore
 * import { exit } from "./deno.ts";
 * exit(2);
 * ```
 */
export function exit(code: number): never {
  Deno.exit(code);
}
