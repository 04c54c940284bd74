/**
 * The Bun adapter: TCP and TLS through `Bun.listen` and `Bun.connect`; the process as
 * `./process.ts` gives it.
 *
 * Bun's sockets push: a `data` callback gets each chunk as it arrives, and `write` takes what the
 * kernel accepts now and keeps nothing. The connection layer pulls, as on Deno: reads go through
 * a {@linkcode PushReader}, and a short write waits for Bun's `drain` before it resolves, so the
 * next write has room.
 *
 * @module
 */

import {
  type Listener,
  ListenError,
  type NetAddress,
  type ReadTarget,
  type Transport,
} from "../transport.ts";
import { AcceptQueue } from "./accept_queue.ts";
import type { RuntimeAdapter } from "./adapter.ts";
import { listenFailure } from "./listen_failure.ts";
import { nodeProcess } from "./process.ts";
import { PushReader } from "./push_reader.ts";

/** The part of Bun's TCP socket used here (`Socket` in the `bun-types` package). */
interface BunSocket {
  /** The per-socket value; this adapter keeps the socket's transport in it. */
  data: SocketTransport;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Writes what the kernel takes now: the byte count, or -1 once the socket is closed. */
  write(bytes: Uint8Array): number;
  /** Sends FIN; reading goes on. */
  shutdown(): void;
  /** Closes the socket, which calls the `close` handler before it returns. */
  close(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
}

/** The callbacks Bun calls for every socket of a listener or a connection. */
interface BunSocketHandlers {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  /** The peer sent FIN. */
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  /** A TLS handshake is over: `success`, or the reason the certificate was refused. */
  handshake?(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
}

interface BunTcpOptions {
  hostname: string;
  port: number;
  /** For listeners: share the port with others (`SO_REUSEPORT`); Bun's types leave it out. */
  reusePort?: boolean;
  /** Without it, Bun ends both directions when the peer ends its own, and closeWrite() would too. */
  allowHalfOpen: true;
  socket: BunSocketHandlers;
  /** TLS: a server's certificate and key, or what a client trusts and checks. */
  tls?: {
    cert?: string;
    key?: string;
    ca?: string[];
    serverName?: string;
    rejectUnauthorized?: boolean;
  };
}

declare const Bun: {
  listen(
    options: BunTcpOptions,
  ): { readonly hostname: string; readonly port: number; stop(): void };
  connect(options: BunTcpOptions): Promise<BunSocket>;
};

/** One Bun socket as a pull-style transport; one read and one write may wait at a time. */
class SocketTransport implements Transport {
  readonly remoteAddr: NetAddress;
  readonly #socket: BunSocket;
  readonly #reader: PushReader;
  #wakeWriter: (() => void) | null = null;

  private constructor(socket: BunSocket) {
    this.#socket = socket;
    this.#reader = new PushReader(socket);
    this.remoteAddr = { hostname: socket.remoteAddress, port: socket.remotePort };
    // Replies are small and latency matters.
    socket.setNoDelay(true);
    socket.data = this;
  }

  /**
   * The handlers that give each socket a transport, handed to `onOpen`; `onHandshake` hears how a
   * client's TLS handshake ended.
   */
  static handlers(
    onOpen: (transport: SocketTransport) => void,
    onHandshake?: (error: Error | null) => void,
  ): BunSocketHandlers {
    return {
      binaryType: "uint8array",
      open: (socket) => onOpen(new SocketTransport(socket)),
      data: (socket, chunk) => socket.data.#reader.push(chunk),
      drain: (socket) => socket.data.#drained(),
      end: (socket) => socket.data.#ended("eof"),
      close: (socket, error) => {
        socket.data.#ended(error ?? "eof");
        onHandshake?.(error ?? new Error("the connection closed during the TLS handshake"));
      },
      // Bun may report success with an authorization error: the certificate did not check out.
      handshake: (_socket, success, authorizationError) =>
        onHandshake?.(
          success && !authorizationError
            ? null
            : authorizationError ?? new Error("the TLS handshake failed"),
        ),
    };
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#reader.read(buffer);
  }

  readChunk(): Promise<Uint8Array | null> {
    return this.#reader.readChunk();
  }

  deliver(target: ReadTarget): Promise<void> {
    return this.#reader.deliver(target);
  }

  async write(bytes: Uint8Array): Promise<number> {
    const written = this.#socket.write(bytes);
    if (written < 0) {
      const end = this.#reader.ended;
      throw end instanceof Error ? end : new Error("the connection is closed");
    }
    if (written < bytes.length) {
      await new Promise<void>((resolve) => this.#wakeWriter = resolve);
    }
    return written;
  }

  closeWrite(): Promise<void> {
    // Bun keeps nothing unwritten, so all that was written is with the kernel, ahead of the FIN.
    this.#socket.shutdown();
    return Promise.resolve();
  }

  close(): void {
    this.#reader.discard();
    this.#socket.close();
  }

  #drained(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = null;
    wake?.();
  }

  /** The peer ended its side, or the socket closed: reads get the end, a waiting writer wakes. */
  #ended(end: "eof" | Error): void {
    this.#reader.end(end);
    // A writer waiting for room learns of a closed socket from its next write.
    this.#drained();
  }
}

/** A listener over `Bun.listen`: connections that open before `accept()` is called wait. */
function listen(
  address: NetAddress,
  tls?: { cert: string; key: string },
  reusePort = false,
): Listener {
  const opened = new AcceptQueue();
  let server: ReturnType<typeof Bun.listen>;
  try {
    server = Bun.listen({
      hostname: address.hostname,
      port: address.port,
      reusePort,
      allowHalfOpen: true,
      socket: SocketTransport.handlers((transport) => opened.push(transport)),
      tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
    });
  } catch (error) {
    throw new ListenError(address, listenFailure(error), error);
  }
  return {
    addr: { hostname: server.hostname, port: server.port },
    accept: () => opened.accept(),
    close(): void {
      server.stop();
      opened.close();
    },
  };
}

/**
 * The adapter for Bun.
 *
 * @example
 * ```ts ignore
 * import { bun } from "./bun.ts";
 * const listener = bun.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const bun: RuntimeAdapter = {
  listen,

  async connect(address, tls): Promise<Transport> {
    const handshake = Promise.withResolvers<void>();
    // It may fail before anyone waits for it.
    handshake.promise.catch(() => {});
    const socket = await Bun.connect({
      hostname: address.hostname,
      port: address.port,
      allowHalfOpen: true,
      // Bun opens the socket, which gives it its transport, before the promise resolves.
      socket: SocketTransport.handlers(
        () => {},
        tls ? (error) => error ? handshake.reject(error) : handshake.resolve() : undefined,
      ),
      tls: tls
        ? {
          ca: tls.caCerts ? [...tls.caCerts] : undefined,
          serverName: address.hostname,
          // Whatever the environment says (NODE_TLS_REJECT_UNAUTHORIZED), a certificate is checked.
          rejectUnauthorized: true,
        }
        : undefined,
    });
    if (tls) {
      try {
        await handshake.promise;
      } catch (error) {
        socket.data.close();
        throw error;
      }
    }
    return socket.data;
  },

  ...nodeProcess,
};
