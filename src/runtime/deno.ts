/**
 * The Deno adapter: TCP listening through `Deno.listen`, and connecting through `Deno.connect`.
 *
 * @module
 */

import type { Listener, NetAddress, Transport } from "../transport.ts";

/**
 * Listens on TCP. Accepted connections have Nagle's algorithm off, as replies are small and
 * latency matters.
 *
 * @throws {Deno.errors.AddrInUse} when the port is taken.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./deno.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function listen(address: NetAddress): Listener {
  const listener = Deno.listen({ hostname: address.hostname, port: address.port });
  return {
    addr: { hostname: listener.addr.hostname, port: listener.addr.port },
    async accept(): Promise<Transport> {
      const conn = await listener.accept();
      conn.setNoDelay(true);
      return conn;
    },
    close: () => listener.close(),
  };
}

/**
 * Opens a TCP connection, with Nagle's algorithm off, as accepted ones have it.
 *
 * @throws {Deno.errors.ConnectionRefused} when nothing listens there.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./deno.ts";
 * const transport = await connect({ hostname: "127.0.0.1", port: 8000 });
 * transport.close();
 * ```
 */
export async function connect(address: NetAddress): Promise<Transport> {
  const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  conn.setNoDelay(true);
  return conn;
}
