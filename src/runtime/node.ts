/**
 * The Node adapter: TCP and TLS through `node:net` and `node:tls`; the process as `./process.ts`
 * gives it.
 *
 * Node's sockets push, as Bun's do: each `data` event brings a chunk in a buffer of its own, which
 * Node never writes into again, so a {@linkcode PushReader} keeps it as it is until it is read,
 * and pauses the socket once too much waits, which stops Node reading from the kernel. A write
 * resolves once Node has given all of its bytes to the kernel: Node holds on to the buffer it is
 * handed until then, and the connection layer may reuse a buffer once its write has resolved.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { getSystemErrorMessage, getSystemErrorName } from "node:util";
import {
  type Listener,
  ListenError,
  type NetAddress,
  type ReadTarget,
  type TlsCertificate,
  type TlsClientOptions,
  type Transport,
} from "../transport.ts";
import { AcceptQueue } from "./accept_queue.ts";
import { listenFailure } from "./listen_failure.ts";
import { lookupSync } from "./lookup_sync.ts";
import type { RuntimeAdapter } from "./adapter.ts";
import { nodeProcess } from "./process.ts";
import { PushReader } from "./push_reader.ts";

/** Where a socket's events go: one set of listeners serves every socket, each finds its reader. */
const READER = Symbol("reader");

/** A socket whose events go to its {@linkcode PushReader}. */
type ReadingSocket = net.Socket & { [READER]: PushReader };

/** A chunk Node read from the kernel. */
function onData(this: ReadingSocket, chunk: Uint8Array): void {
  this[READER].push(chunk);
}

/** The peer's FIN (with allowHalfOpen, Node leaves this side open until closeWrite()) or a close. */
function onEnd(this: ReadingSocket): void {
  this[READER].end("eof");
}

/** Reads reject with the error (a reset, say); only the first end counts. */
function onError(this: ReadingSocket, error: Error): void {
  this[READER].end(error);
}

/** One Node socket, TCP or TLS, as a pull-style transport. */
class SocketTransport implements Transport {
  readonly remoteAddr: NetAddress;
  readonly #socket: net.Socket;
  readonly #reader: PushReader;

  /** Takes over `socket`, which is connected (and past its TLS handshake). */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#reader = new PushReader(socket);
    // Unknown only when the peer reset the connection as it was accepted: its read will say so.
    this.remoteAddr = { hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    // Listeners shared by every socket: an idle connection holds no closures of its own.
    (socket as ReadingSocket)[READER] = this.#reader;
    socket.on("data", onData).on("end", onEnd).on("error", onError).on("close", onEnd);
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

  write(bytes: Uint8Array): Promise<number> {
    // The callback comes once the kernel has every byte (or the socket is destroyed), so a write
    // that Node has to buffer waits for room, as on Deno, and Node no longer needs `bytes`.
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  closeWrite(): Promise<void> {
    // Node never calls back an end() made after destroy(), so that one fails here.
    if (this.#socket.destroyed) return Promise.reject(new Error("the connection is closed"));
    // Resolves once the FIN (after TLS's close_notify) is sent; rejects if the socket is
    // destroyed first.
    return new Promise((resolve, reject) => {
      this.#socket.end((error?: Error | null) => error ? reject(error) : resolve());
    });
  }

  close(): void {
    this.#reader.discard();
    this.#socket.destroy();
  }
}

/** A listening TCP handle of Node's, as `node:net` makes them. */
interface ListenHandle {
  /** Starts listening: 0, or a negative errno. */
  listen(backlog: number): number;
  close(): void;
}

/**
 * `node:net`'s own maker of listening handles, exported for its `cluster` module (undocumented,
 * and there since Node 0.x): it binds at once, and returns the handle or a negative errno, where
 * `server.listen()` binds only once a `dns.lookup` has called back, even for an IP address, and
 * reports a failure later still, as an `error` event. `server.listen(handle)` serves on it.
 */
const createServerHandle = (net as unknown as {
  _createServerHandle(address: string, port: number, family: 4 | 6): ListenHandle | number;
})._createServerHandle;

/** The backlog `server.listen()` uses. */
const LISTEN_BACKLOG = 511;

/** Node's error for the negative errno of a `syscall` on `address`, as `node:net` words it. */
function errnoError(errno: number, syscall: string, address: NetAddress): Error {
  const code = getSystemErrorName(errno);
  const where = `${address.hostname}:${address.port}`;
  const text = `${syscall} ${code}: ${getSystemErrorMessage(errno)} ${where}`;
  return Object.assign(new Error(text), { errno, code, syscall });
}

/**
 * A handle bound to `address` and listening, made synchronously; a host name is looked up first,
 * as Deno's `listen` does.
 *
 * @throws Node's error for what failed: the lookup, the bind, or the listen.
 */
function listenHandle(address: NetAddress): ListenHandle {
  const family = net.isIP(address.hostname);
  const ip = family === 0 ? lookupSync(address.hostname) : { address: address.hostname, family };
  const handle = createServerHandle(ip.address, address.port, ip.family === 6 ? 6 : 4);
  if (typeof handle === "number") throw errnoError(handle, "bind", address);
  // Linux reports a taken port here, not at bind.
  const errno = handle.listen(LISTEN_BACKLOG);
  if (errno !== 0) {
    handle.close();
    throw errnoError(errno, "listen", address);
  }
  return handle;
}

/** A listener over a `node:net` or `node:tls` server; connections opened before `accept()` wait. */
function listen(address: NetAddress, certificate?: TlsCertificate, reusePort = false): Listener {
  if (reusePort) {
    const cause = new Error("sharing a port between workers is not supported on Node yet");
    throw new ListenError(address, "Other", cause);
  }
  const opened = new AcceptQueue();
  const onOpen = (socket: net.Socket) => opened.push(new SocketTransport(socket));
  let server: net.Server;
  try {
    // Without allowHalfOpen, Node ends this side as soon as the peer ends its own.
    server = certificate
      ? tls.createServer({ cert: certificate.cert, key: certificate.key, allowHalfOpen: true })
        // A TLS socket is handed on once its handshake is over; one whose handshake fails is
        // destroyed by Node and reported as `tlsClientError`, which nobody here needs.
        .on("secureConnection", onOpen)
      : net.createServer({ allowHalfOpen: true }).on("connection", onOpen);
    // Replies are small and latency matters: Nagle's algorithm goes off on each TCP socket as it
    // is accepted, before a TLS handshake is sent on it. (The `noDelay` option of `net` servers
    // does not reach the sockets of `tls` servers.)
    server.on("connection", (socket: net.Socket) => socket.setNoDelay(true));
    // A failed accept (out of file descriptors): the accept loop hears of it, as on Deno.
    server.on("error", (error) => opened.fail(error));
    server.listen(listenHandle(address));
  } catch (error) {
    throw new ListenError(address, listenFailure(error), error);
  }
  const bound = server.address() as net.AddressInfo;
  return {
    addr: { hostname: bound.address, port: bound.port },
    accept: () => opened.accept(),
    close(): void {
      // Stops listening; the connections open are not the listener's to close.
      if (server.listening) server.close();
      opened.close();
    },
  };
}

/** What a TLS client trusts besides `caCerts`: Node's own CAs and the system's, once read. */
let trustedCaCerts: readonly string[] | null = null;

/**
 * Opens a TCP connection, or a TLS one whose certificate must be for `address.hostname` and
 * signed by one of the CAs Node trusts (its own, and those it was given with
 * `NODE_EXTRA_CA_CERTS`), of the system's, or of `tlsOptions.caCerts`.
 */
function connect(address: NetAddress, tlsOptions?: TlsClientOptions): Promise<Transport> {
  const { hostname: host, port } = address;
  let socket: net.Socket;
  if (tlsOptions) {
    trustedCaCerts ??= [...tls.getCACertificates("default"), ...tls.getCACertificates("system")];
    // tls.connect hands allowHalfOpen on to its socket; Node's type declarations leave it out.
    const options: tls.ConnectionOptions & { allowHalfOpen: true } = {
      host,
      port,
      // RFC 6066 §3: no IP address in SNI; Node checks an IP host against the certificate anyway.
      servername: net.isIP(host) === 0 ? host : undefined,
      ca: [...trustedCaCerts, ...tlsOptions.caCerts ?? []],
      // Whatever the environment says (NODE_TLS_REJECT_UNAUTHORIZED), a certificate is checked.
      rejectUnauthorized: true,
      allowHalfOpen: true,
    };
    socket = tls.connect(options);
  } else {
    socket = net.connect({ host, port, allowHalfOpen: true });
  }
  // Replies are small and latency matters; set before connecting, so that a TLS handshake goes
  // without Nagle's algorithm too.
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.once(tlsOptions ? "secureConnect" : "connect", () => {
      socket.off("error", fail);
      resolve(new SocketTransport(socket));
    });
  });
}

/**
 * The adapter for Node.
 *
 * @example
 * ```ts ignore
 * import { node } from "./node.ts";
 * const listener = node.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export const node: RuntimeAdapter = { listen, connect, ...nodeProcess };
