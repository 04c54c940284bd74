/**
 * A raw HTTP/1.1 client for tests: it writes exactly the bytes a test gives it (smuggling
 * attempts included), and reads the responses one after another off the same connection, each
 * framed as its head says (`Content-Length`, chunked, or to the end of TCP), so keep-alive,
 * pipelining and the end of the connection can be checked byte for byte.
 */

import { withTimeout } from "./client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One response as read off the wire. */
export interface WireResponse {
  /** The status line, as sent. */
  statusLine: string;
  status: number;
  headers: Headers;
  /** The body, decoded from its framing. */
  body: string;
  /** How the body was framed: `length`, `chunked`, `close` (to the end of TCP) or `none`. */
  framing: "length" | "chunked" | "close" | "none";
}

/** A request head of `lines` (the request line, then field lines), as bytes, blank line added. */
export function requestBytes(...lines: string[]): Uint8Array {
  return encoder.encode(lines.map((line) => `${line}\r\n`).join("") + "\r\n");
}

/** A raw connection to a server on loopback. */
export class HttpClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #buffered = new Uint8Array(0);
  #ended = false;
  #filling: Promise<boolean> | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<HttpClient> {
    return new HttpClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes `bytes` (or text) whole. */
  async write(bytes: Uint8Array | string): Promise<void> {
    const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    for (let written = 0; written < data.length;) {
      written += await this.conn.write(data.subarray(written));
    }
  }

  /**
   * Reads the next response; `method` is that of the request it answers (a `HEAD` answer has no
   * body). Interim (1xx) responses come back as responses of their own.
   */
  async response(method = "GET", timeoutMs = 5000): Promise<WireResponse> {
    return await withTimeout(this.#response(method), "a response", timeoutMs);
  }

  /**
   * Whether the server ends TCP within `timeoutMs` with nothing more sent: true once it has
   * (FIN or reset), false if the connection is still open then. Fails if bytes come instead.
   */
  async ended(timeoutMs = 2000): Promise<boolean> {
    if (this.#buffered.length > 0) {
      throw new Error(`bytes instead of the end: ${decoder.decode(this.#buffered)}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"open">((resolve) =>
      timer = setTimeout(() => resolve("open"), timeoutMs)
    );
    try {
      const more = await Promise.race([this.#fill(), timeout]);
      if (more === "open") return false;
      if (more) throw new Error(`bytes instead of the end: ${decoder.decode(this.#buffered)}`);
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  async #response(method: string): Promise<WireResponse> {
    const head = await this.#until(encoder.encode("\r\n\r\n"));
    const [statusLine, ...lines] = decoder.decode(head).split("\r\n").slice(0, -2);
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const status = Number(statusLine.split(" ")[1]);
    const base = { statusLine, status, headers };
    if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
      return { ...base, body: "", framing: "none" };
    }
    const length = headers.get("content-length");
    if (length !== null) {
      return { ...base, body: decoder.decode(await this.#take(Number(length))), framing: "length" };
    }
    if (headers.get("transfer-encoding") === "chunked") {
      let body = "";
      for (;;) {
        const size = parseInt(decoder.decode(await this.#until(encoder.encode("\r\n"))), 16);
        if (size === 0) {
          await this.#until(encoder.encode("\r\n"));
          return { ...base, body, framing: "chunked" };
        }
        body += decoder.decode(await this.#take(size));
        await this.#take(2);
      }
    }
    while (await this.#fill());
    const body = decoder.decode(this.#buffered);
    this.#buffered = new Uint8Array(0);
    return { ...base, body, framing: "close" };
  }

  /** The bytes up to and including `end`, taken from what is read. */
  async #until(end: Uint8Array): Promise<Uint8Array> {
    for (;;) {
      const at = indexOf(this.#buffered, end);
      if (at !== -1) return this.#take(at + end.length);
      if (!await this.#fill()) throw new Error("the server ended TCP mid-response");
    }
  }

  /** The next `count` bytes. */
  async #take(count: number): Promise<Uint8Array> {
    while (this.#buffered.length < count) {
      if (!await this.#fill()) throw new Error("the server ended TCP mid-response");
    }
    const taken = this.#buffered.slice(0, count);
    this.#buffered = this.#buffered.slice(count);
    return taken;
  }

  /** Reads once more (or waits for the read under way); false at the end of TCP (or a reset). */
  #fill(): Promise<boolean> {
    return this.#filling ??= this.#read().finally(() => this.#filling = null);
  }

  async #read(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = new Uint8Array(64 * 1024);
    let count: number | null;
    try {
      count = await this.conn.read(chunk);
    } catch {
      count = null;
    }
    if (count === null) {
      this.#ended = true;
      return false;
    }
    const joined = new Uint8Array(this.#buffered.length + count);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, count), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }
}

function indexOf(bytes: Uint8Array, part: Uint8Array): number {
  outer: for (let i = 0; i + part.length <= bytes.length; i++) {
    for (let j = 0; j < part.length; j++) if (bytes[i + j] !== part[j]) continue outer;
    return i;
  }
  return -1;
}
