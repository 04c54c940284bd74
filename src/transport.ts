/**
 * What the server and the client need from a runtime's TCP: a byte stream they can read, write
 * and end, a listener that yields them, and the one error a listener fails with. A runtime
 * adapter provides these; `Deno.TcpConn` already is a transport. `writeAll` and `closeQuietly`
 * are the two things every user of a transport does with it.
 *
 * @module
 */

/** A network address. */
export interface NetAddress {
  /** The IP address (or host name) as text. */
  hostname: string;
  /** The port. */
  port: number;
}

/**
 * A server's TLS certificate chain and private key, both PEM-encoded.
 *
 * @example
 * ```ts ignore
 * import type { TlsCertificate } from "./transport.ts";
 * const tls: TlsCertificate = { cert: Deno.readTextFileSync("cert.pem"), key: Deno.readTextFileSync("key.pem") };
 * ```
 */
export interface TlsCertificate {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/**
 * How a client checks a TLS server's certificate: it must be for the host connected to, and
 * signed by one of the system's certificate authorities or of `caCerts`.
 *
 * @example
 * ```ts ignore
 * import type { TlsClientOptions } from "./transport.ts";
 * const tls: TlsClientOptions = { caCerts: [Deno.readTextFileSync("ca.pem")] };
 * ```
 */
export interface TlsClientOptions {
  /** Certificate authorities to trust besides the system's, PEM. */
  caCerts?: readonly string[];
}

/**
 * What reads of a transport go to, and what says whether to read on: see `readUntilEnd` and
 * {@linkcode Transport.deliver}.
 *
 * @example
 * ```ts
 * import type { ReadTarget } from "./transport.ts";
 * const target: ReadTarget = {
 *   holdReading: () => null,
 *   resumed() {},
 *   received: (bytes) => console.log(bytes.length),
 * };
 * ```
 */
export interface ReadTarget {
  /**
   * A promise to wait for before the next read, while reading is held back (the handler or the
   * peer is behind), so TCP pushes back on the peer; null to read now.
   */
  holdReading(): Promise<unknown> | null;
  /** Reading goes on after a hold. */
  resumed(): void;
  /**
   * Bytes came from the peer. `owned` bytes are the target's to keep (a chunk the runtime handed
   * over); others are valid only until the next read reuses the buffer.
   */
  received(bytes: Uint8Array, owned: boolean): void;
}

/**
 * One connection's byte stream, accepted or opened.
 *
 * @example `Deno.TcpConn` fits as it is
 * ```ts ignore
 * import type { Transport } from "./transport.ts";
 * const conn: Transport = await Deno.connect({ port: 8000 });
 * ```
 */
export interface Transport {
  /** The peer's address. */
  readonly remoteAddr: NetAddress;
  /** Reads into `buffer`; resolves to the byte count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /**
   * Reads the bytes that came next as a buffer of their own, which the caller may keep; null at
   * the end of the stream. Given by transports whose runtime hands over each chunk as it arrives
   * (Bun's, Node's), so that it need not be copied into a reader's buffer.
   */
  readChunk?(): Promise<Uint8Array | null>;
  /**
   * Hands `target` every chunk as the runtime pushes it, until the stream ends (the peer's FIN, a
   * close, or a failure: then it resolves) or the target throws (then it rejects with that). No
   * chunk is handed on while the target holds reading back, and then the runtime stops reading, so
   * TCP pushes back on the peer. Given by transports whose runtime pushes (Bun's, Node's): there
   * is no promise per read to wait for. One delivery, or one read, at a time.
   */
  deliver?(target: ReadTarget): Promise<void>;
  /** Writes some of `bytes`; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Ends the sending side (TCP FIN); reading goes on. */
  closeWrite(): Promise<void>;
  /** Ends the connection both ways. */
  close(): void;
}

/**
 * A bound listening socket.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./runtime/mod.ts";
 * const listener = listen({ hostname: "127.0.0.1", port: 0 });
 * const transport = await listener.accept();
 * ```
 */
export interface Listener {
  /** The bound address, with the real port when 0 was asked for. */
  readonly addr: NetAddress;
  /** Waits for the next connection; rejects once the listener is closed. */
  accept(): Promise<Transport>;
  /** Stops listening. */
  close(): void;
}

/** Why a listener could not be opened, named alike on every runtime. */
export type ListenFailure = "AddrInUse" | "PermissionDenied" | "AddrNotAvailable" | "Other";

const LISTEN_FAILURE_TEXT: Record<Exclude<ListenFailure, "Other">, string> = {
  AddrInUse: "the address is already in use",
  PermissionDenied: "permission denied",
  AddrNotAvailable: "no such address on this machine",
};

/**
 * A listener that could not be opened. Every runtime adapter throws this, so that callers need
 * not know one runtime's error names from another's; the runtime's own error is the `cause`.
 *
 * @example
 * ```ts
 * import { ListenError } from "./transport.ts";
 * const error = new ListenError({ hostname: "127.0.0.1", port: 8000 }, "AddrInUse");
 * console.log(error.message); // "cannot listen on 127.0.0.1:8000: the address is already in use"
 * ```
 */
export class ListenError extends Error {
  /** What went wrong; "Other" for anything else, whose text is the cause's message. */
  readonly failure: ListenFailure;
  /** The address asked for. */
  readonly address: NetAddress;

  /** Creates the error; `cause` is the runtime's own error. */
  constructor(address: NetAddress, failure: ListenFailure, cause?: unknown) {
    const text = failure === "Other"
      ? cause instanceof Error ? cause.message : String(cause)
      : LISTEN_FAILURE_TEXT[failure];
    super(`cannot listen on ${address.hostname}:${address.port}: ${text}`, { cause });
    this.name = "ListenError";
    this.failure = failure;
    this.address = address;
  }
}

/**
 * Writes all of `bytes`, however many writes that takes.
 *
 * @example
 * ```ts ignore
 * import { writeAll } from "./transport.ts";
 * await writeAll(await Deno.connect({ port: 8000 }), new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
 * ```
 */
export async function writeAll(transport: Transport, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await transport.write(bytes.subarray(written));
  }
}

/**
 * Closes a transport, which may be closed already.
 *
 * @example
 * ```ts ignore
 * import { closeQuietly } from "./transport.ts";
 * const conn = await Deno.connect({ port: 8000 });
 * closeQuietly(conn);
 * closeQuietly(conn); // no error
 * ```
 */
export function closeQuietly(transport: Transport): void {
  try {
    transport.close();
  } catch {
    // Already closed.
  }
}
