/**
 * A byte-level server for client tests: it accepts TCP connections on loopback, reads each
 * upgrade request, answers with whatever a test gives (a correct 101 unless told otherwise), then
 * writes exactly the bytes a test gives it. It reads the client's frames as a server must, so
 * every frame the client sends has to be masked.
 */

import { encodeBase64 } from "@std/encoding/base64";
import { RawPeer } from "./raw_client.ts";

const encoder = new TextEncoder();

/** `Sec-WebSocket-Accept` for `key`, computed here rather than by the library under test. */
export async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return encodeBase64(digest);
}

/** A correct 101 response for `key`, with extra header lines if given. */
export async function switchingProtocols(key: string, extraHeaders = ""): Promise<string> {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${await acceptFor(key)}\r\n${extraHeaders}\r\n`;
}

/** One accepted connection, after the server answered its request. */
export class RawServerPeer extends RawPeer {
  /** The client's request head, as it came. */
  request = "";

  constructor(conn: Deno.TcpConn) {
    super(conn, "server");
  }

  /** A request header's value (the first, case-insensitive), or null. */
  header(name: string): string | null {
    const line = this.request.split("\r\n").find((line) =>
      line.toLowerCase().startsWith(`${name.toLowerCase()}:`)
    );
    return line === undefined ? null : line.slice(line.indexOf(":") + 1).trim();
  }
}

/** A listener on 127.0.0.1 and a free port, closed on dispose with every connection it took. */
export class RawServer implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #peers: RawServerPeer[] = [];

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** `ws://127.0.0.1:port` + path. */
  url(path = "/"): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /**
   * Accepts the next connection, reads its request head and writes `respond(key)` (by default a
   * correct 101); `respond` returning null writes nothing.
   */
  async accept(
    respond: (key: string) => string | Uint8Array | null | Promise<string | Uint8Array | null> =
      switchingProtocols,
  ): Promise<RawServerPeer> {
    const conn = await this.#listener.accept();
    conn.setNoDelay(true);
    const peer = new RawServerPeer(conn);
    this.#peers.push(peer);
    peer.request = await peer.readHead();
    const response = await respond(peer.header("sec-websocket-key") ?? "");
    if (response !== null) {
      await peer.write(typeof response === "string" ? encoder.encode(response) : response);
    }
    return peer;
  }

  [Symbol.asyncDispose](): Promise<void> {
    for (const peer of this.#peers) peer.close();
    this.#listener.close();
    return Promise.resolve();
  }
}
