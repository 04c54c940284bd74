/**
 * The Deno adapter: TCP and TLS through `Deno.listen`, `Deno.listenTls` and `Deno.connect`, and
 * the process through `Deno.args`, `Deno.exit` and Deno's signal listeners. A `Deno.TcpConn` is
 * already a {@linkcode Transport}.
 *
 * @module
 */

import { type Listener, ListenError, type NetAddress, type Transport } from "../transport.ts";
import type { RuntimeAdapter } from "./adapter.ts";

/** Deno's error classes, by name, in the words every adapter uses. */
function listenFailure(error: unknown): ListenError["failure"] {
  const name = error instanceof Error ? error.name : "";
  if (name === "AddrInUse" || name === "AddrNotAvailable") return name;
  // NotCapable: no --allow-net for this address; PermissionDenied: a port below 1024.
  if (name === "PermissionDenied" || name === "NotCapable") return "PermissionDenied";
  return "Other";
}

const STOP_SIGNALS: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/**
 * The adapter for Deno.
 *
 * @example
 * ```ts ignore
 * import { deno } from "./deno.ts";
 * const listener = deno.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const deno: RuntimeAdapter = {
  listen(address, tls, reusePort = false): Listener {
    // Deno 2 lets reusePort through only under --unstable-net; without it, asking ends the
    // process (exit code 70) where nothing can catch it. listenDatagram exists only then.
    if (reusePort && typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
      const cause = new Error('sharing a port needs --unstable-net (or "unstable": ["net"])');
      throw new ListenError(address, "Other", cause);
    }
    let listener: Deno.Listener<Deno.TcpConn | Deno.TlsConn, Deno.NetAddr>;
    try {
      const { hostname, port } = address;
      // Only asked for when wanted: the option alone, even false, needs --unstable-net.
      const shared = reusePort ? { reusePort } : {};
      listener = tls
        ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key, ...shared })
        : Deno.listen({ hostname, port, ...shared });
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
  },

  async connect(address: NetAddress, tls): Promise<Transport> {
    const { hostname, port } = address;
    const tcp = await Deno.connect({ hostname, port });
    tcp.setNoDelay(true);
    if (tls === undefined) return tcp;
    // Deno.connectTls cannot turn Nagle's algorithm off, so TLS is started over this connection.
    const caCerts = tls.caCerts ? [...tls.caCerts] : undefined;
    const conn = await Deno.startTls(tcp, { hostname, caCerts });
    try {
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw error;
    }
    return conn;
  },

  args: () => Deno.args,
  mainModule: () => new URL(Deno.mainModule),
  exit: (code) => Deno.exit(code),
  readTextFile: (path) => Deno.readTextFile(path),

  onStopSignal(handler) {
    for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, handler);
    return () => {
      for (const signal of STOP_SIGNALS) Deno.removeSignalListener(signal, handler);
    };
  },
};
