/**
 * Connections in memory, for testing the connection layer without sockets: two
 * {@linkcode Transport}s joined back to back, with TCP's flow control (a writer waits while the
 * other end has `capacity` bytes unread), half-close and close; and a raw peer that reads one
 * end's frames as they arrive.
 */

import { RSV1 } from "../../src/protocol/frame.ts";
import type { Frame } from "../../src/protocol/frame.ts";
import { FrameParser } from "../../src/protocol/parser.ts";
import { PushReader } from "../../src/runtime/push_reader.ts";
import type { Transport } from "../../src/transport.ts";
import { settle } from "./fake_clock.ts";

/** One end of an in-memory connection. */
export class MemoryTransport implements Transport {
  readonly remoteAddr = { hostname: "127.0.0.1", port: 40000 };
  /** What the other end wrote, waiting to be read here. */
  readonly #incoming: PushReader;
  /** The most one write takes, as a socket takes what its buffer has room for. */
  readonly #capacity: number;
  #peer!: MemoryTransport;
  /** Whether the other end has `capacity` bytes unread: writes wait. */
  #blocked = false;
  #unblocked: PromiseWithResolvers<void> | null = null;
  #closed = false;
  #finSent = false;
  /** Bytes written by this end so far. */
  bytesWritten = 0;

  private constructor(capacity: number) {
    this.#capacity = capacity;
    this.#incoming = new PushReader({
      pause: () => this.#peer.#block(),
      resume: () => this.#peer.#unblock(),
    }, capacity);
  }

  /** Two ends joined back to back; each may have `capacity` bytes unread before writers wait. */
  static pair(capacity = Infinity): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport(capacity);
    const b = new MemoryTransport(capacity);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  /** Whether this end was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this end sent FIN (or closed). */
  get finSent(): boolean {
    return this.#finSent || this.#closed;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#incoming.read(buffer);
  }

  async write(bytes: Uint8Array): Promise<number> {
    while (this.#blocked && !this.#closed && !this.#peer.#closed) {
      await (this.#unblocked ??= Promise.withResolvers()).promise;
    }
    if (this.#closed || this.#finSent) throw new Error("this end is closed");
    if (this.#peer.#closed) throw new Error("connection reset by peer");
    // The writer may reuse its bytes once the write resolves, as with a socket.
    const count = Math.min(bytes.length, this.#peer.#capacity);
    this.#peer.#incoming.push(bytes.slice(0, count));
    this.bytesWritten += count;
    return count;
  }

  closeWrite(): Promise<void> {
    if (!this.#finSent && !this.#closed) {
      this.#finSent = true;
      this.#peer.#incoming.end();
    }
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#incoming.discard();
    this.#peer.#incoming.end();
    this.#unblock();
    this.#peer.#unblock();
  }

  #block(): void {
    this.#blocked = true;
  }

  #unblock(): void {
    this.#blocked = false;
    this.#unblocked?.resolve();
    this.#unblocked = null;
  }
}

/**
 * The test's end of an in-memory connection: it writes the bytes a test gives it, and reads the
 * other end's frames in the background as they arrive, checked as `role` requires.
 */
export class MemoryPeer implements AsyncDisposable {
  readonly transport: MemoryTransport;
  /** The frames read so far, in order; take them with {@linkcode take}. */
  readonly frames: Frame[] = [];
  /** Whether the other end ended the stream (FIN or close). */
  ended = false;
  readonly #reading: Promise<void>;
  #resumed: PromiseWithResolvers<void> | null = null;

  /**
   * Reads `transport` as a `role` would; `allowedRsv` as an agreed extension allows. With
   * `reading` false it reads nothing until {@linkcode resume}: a peer that does not read.
   */
  constructor(
    transport: MemoryTransport,
    role: "server" | "client" = "client",
    { allowedRsv = RSV1, reading = true } = {},
  ) {
    this.transport = transport;
    if (!reading) this.#resumed = Promise.withResolvers();
    const parser = new FrameParser({ role, allowedRsv, maxMessageBytes: Infinity });
    this.#reading = (async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        await this.#resumed?.promise;
        const count = await transport.read(buffer).catch(() => null);
        if (count === null) break;
        parser.push(buffer.slice(0, count), (frame) => this.frames.push(frame));
      }
      this.ended = true;
    })();
  }

  /** Starts reading, for a peer made with `reading` false. */
  resume(): void {
    this.#resumed?.resolve();
    this.#resumed = null;
  }

  /** Writes `bytes` whole. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.transport.write(bytes);
  }

  /** The frames read since the last call, once what is under way has settled. */
  async take(): Promise<Frame[]> {
    await settle();
    return this.frames.splice(0);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.transport.close();
    this.resume();
    await this.#reading;
  }
}
