/**
 * The Bun adapter: TCP through `Bun.listen` and `Bun.connect`, and the process's arguments and
 * exit.
 *
 * Bun's sockets push: a `data` callback gets each chunk as it arrives, and `write` takes what
 * the kernel accepts now and keeps nothing. The server pulls: `read(buffer)` and `write(bytes)`
 * as on Deno. A chunk that arrives while a read waits goes straight into that read's buffer;
 * one that arrives between reads waits for the next read, and once
 * {@linkcode MAX_UNREAD_BYTES} wait the socket is paused, so TCP pushes back on the peer. A
 * short write waits for Bun's `drain` before it resolves, so the next write has room.
 *
 * @module
 */

import { MAX_UNREAD_BYTES } from "../protocol/limits.ts";
import {
  type Listener,
  ListenError,
  type NetAddress,
  type TlsCertificate,
  type TlsClientOptions,
  type Transport,
} from "../transport.ts";

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
  file(path: string): { text(): Promise<string> };
  readonly argv: string[];
};

declare const process: {
  exit(code: number): never;
  on(signal: string, handler: () => void): void;
  off(signal: string, handler: () => void): void;
};

const STOP_SIGNALS = ["SIGINT", "SIGTERM"];

/** A read waiting for data. */
interface PendingRead {
  buffer: Uint8Array;
  resolve(count: number | null): void;
  reject(error: Error): void;
}

/** One Bun socket as a pull-style transport; one read and one write may wait at a time. */
class SocketTransport implements Transport {
  readonly remoteAddr: NetAddress;
  readonly #socket: BunSocket;
  /** Chunks that arrived with no read waiting, oldest first from #unreadHead. */
  #unread: Uint8Array[] = [];
  #unreadHead = 0;
  #unreadBytes = 0;
  #paused = false;
  #pendingRead: PendingRead | null = null;
  #wakeWriter: (() => void) | null = null;
  /** Once the stream has ended: "eof", or the error it ended with. */
  #end: "eof" | Error | null = null;

  private constructor(socket: BunSocket) {
    this.#socket = socket;
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
      data: (socket, chunk) => socket.data.#receive(chunk),
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
    if (this.#unreadBytes > 0) return Promise.resolve(this.#takeUnread(buffer));
    if (this.#end === "eof") return Promise.resolve(null);
    if (this.#end !== null) return Promise.reject(this.#end);
    if (this.#pendingRead !== null) return Promise.reject(new Error("a read is already waiting"));
    return new Promise((resolve, reject) => {
      this.#pendingRead = { buffer, resolve, reject };
    });
  }

  async write(bytes: Uint8Array): Promise<number> {
    const written = this.#socket.write(bytes);
    if (written < 0) {
      throw this.#end instanceof Error ? this.#end : new Error("the connection is closed");
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
    this.#unread = [];
    this.#unreadHead = 0;
    this.#unreadBytes = 0;
    this.#socket.close();
    this.#ended("eof");
  }

  #receive(chunk: Uint8Array): void {
    const read = this.#pendingRead;
    if (read === null) return this.#keepUnread(chunk);
    this.#pendingRead = null;
    const count = Math.min(chunk.length, read.buffer.length);
    read.buffer.set(count === chunk.length ? chunk : chunk.subarray(0, count));
    if (count < chunk.length) this.#keepUnread(chunk.subarray(count));
    read.resolve(count);
  }

  #keepUnread(chunk: Uint8Array): void {
    this.#unread.push(chunk);
    this.#unreadBytes += chunk.length;
    if (!this.#paused && this.#unreadBytes >= MAX_UNREAD_BYTES) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** Fills `buffer` from the unread chunks; resumes the socket once the reader has caught up. */
  #takeUnread(buffer: Uint8Array): number {
    let count = 0;
    while (count < buffer.length && this.#unreadHead < this.#unread.length) {
      const chunk = this.#unread[this.#unreadHead];
      const taken = Math.min(chunk.length, buffer.length - count);
      buffer.set(taken === chunk.length ? chunk : chunk.subarray(0, taken), count);
      count += taken;
      if (taken === chunk.length) this.#unreadHead++;
      else this.#unread[this.#unreadHead] = chunk.subarray(taken);
    }
    this.#unreadBytes -= count;
    if (this.#unreadBytes === 0) {
      this.#unread = [];
      this.#unreadHead = 0;
      if (this.#paused) {
        this.#paused = false;
        this.#socket.resume();
      }
    }
    return count;
  }

  #drained(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = null;
    wake?.();
  }

  /** The peer ended its side, or the socket closed: a waiting read gets the end, a writer wakes. */
  #ended(end: "eof" | Error): void {
    this.#end ??= end;
    const read = this.#pendingRead;
    this.#pendingRead = null;
    if (read !== null) {
      if (this.#end === "eof") read.resolve(null);
      else read.reject(this.#end);
    }
    // A writer waiting for room learns of a closed socket from its next write.
    this.#drained();
  }
}

/** Bun's error codes in the words every adapter uses. */
function listenFailure(error: unknown): ListenError["failure"] {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE") return "AddrInUse";
  if (code === "EADDRNOTAVAIL") return "AddrNotAvailable";
  if (code === "EACCES" || code === "EPERM") return "PermissionDenied";
  return "Other";
}

/**
 * Listens on TCP. Accepted connections have Nagle's algorithm off. One `accept()` may wait at a
 * time; connections that arrive meanwhile queue up.
 *
 * @throws {ListenError} when the address cannot be listened on.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./bun.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function listen(address: NetAddress, tls?: TlsCertificate): Listener {
  const accepted: SocketTransport[] = [];
  let waiting: { resolve(transport: Transport): void; reject(error: Error): void } | null = null;
  let closed = false;
  const onOpen = (transport: SocketTransport) => {
    if (closed) return transport.close();
    if (waiting === null) return void accepted.push(transport);
    waiting.resolve(transport);
    waiting = null;
  };
  let server: ReturnType<typeof Bun.listen>;
  try {
    server = Bun.listen({
      hostname: address.hostname,
      port: address.port,
      allowHalfOpen: true,
      socket: SocketTransport.handlers(onOpen),
      tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
    });
  } catch (error) {
    throw new ListenError(address, listenFailure(error), error);
  }
  return {
    addr: { hostname: server.hostname, port: server.port },
    accept(): Promise<Transport> {
      const transport = accepted.shift();
      if (transport !== undefined) return Promise.resolve(transport);
      if (closed) return Promise.reject(new Error("the listener is closed"));
      return new Promise((resolve, reject) => waiting = { resolve, reject });
    },
    close(): void {
      if (closed) return;
      closed = true;
      server.stop();
      // Accepted but never handed out: nobody else would close them.
      for (const transport of accepted.splice(0)) transport.close();
      waiting?.reject(new Error("the listener is closed"));
      waiting = null;
    },
  };
}

/**
 * Opens a TCP connection, with Nagle's algorithm off; with `tls`, a TLS connection whose
 * certificate has been checked by the time this resolves.
 *
 * @example
 * ```ts ignore
 * import { connect } from "./bun.ts";
 * const transport = await connect({ hostname: "127.0.0.1", port: 8000 });
 * transport.close();
 * ```
 */
export async function connect(address: NetAddress, tls?: TlsClientOptions): Promise<Transport> {
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
}

/**
 * Calls `handler` on SIGINT and SIGTERM, which then no longer end the process; returns the
 * function that stops listening for them.
 *
 * @example
 * ```ts ignore
 * import { onStopSignal } from "./bun.ts";
 * const stopListening = onStopSignal(() => console.log("stopping"));
 * stopListening();
 * ```
 */
export function onStopSignal(handler: () => void): () => void {
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  };
}

/**
 * Reads a text file.
 *
 * @example
 * ```ts ignore
 * import { readTextFile } from "./bun.ts";
 * const cert = await readTextFile("cert.pem");
 * ```
 */
export function readTextFile(path: string): Promise<string> {
  return Bun.file(path).text();
}

/**
 * The command line's arguments, after the script.
 *
 * @example
 * ```ts ignore
 * import { args } from "./bun.ts";
 * console.log(args()); // ["--port", "9000"] for `bun mod.ts --port 9000`
 * ```
 */
export function args(): string[] {
  return Bun.argv.slice(2);
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts ignore
 * import { exit } from "./bun.ts";
 * exit(2);
 * ```
 */
export function exit(code: number): never {
  process.exit(code);
}
