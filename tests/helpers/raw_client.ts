/**
 * A byte-level client for conformance tests: it writes exactly the bytes a test gives it, and
 * reads the server's frames through the library's own `FrameParserStream` over the TCP stream.
 * Its base, `RawPeer`, is either end of such a connection (`raw_server.ts` is the other).
 */

import { CloseCode, type Frame, FrameParserStream, Opcode } from "../../mod.ts";
import { parseClosePayload } from "../../src/protocol/close.ts";
import { RSV1 } from "../../src/protocol/frame.ts";
import { withTimeout } from "./client.ts";

export const HANDSHAKE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const HANDSHAKE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A valid upgrade request for `path`, with extra header lines if given. */
export function upgradeRequest(path = "/", extraHeaders = ""): Uint8Array {
  return encoder.encode(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
}

/** What the peer did in the end. */
export interface Ending {
  /** The peer's close frame, if it sent one. */
  close: { code: number; reason: string } | null;
  /** Whether the peer ended TCP (rather than the test's timeout). */
  tcpClosed: boolean;
}

/**
 * One end of a TCP connection that writes raw bytes and reads the other end's frames, checked as
 * `role` requires (a server's reader requires masked frames, a client's unmasked ones).
 */
export class RawPeer implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly #role: "server" | "client";
  /**
   * Reserved bits the other end may set on a message's first frame (RSV1 = 4), as an agreed
   * extension allows; read when the first frame is.
   */
  allowedRsv = 0;
  #frames: ReadableStreamDefaultReader<Frame> | null = null;
  /** A read of the next frame that outlived a timed-out `nextFrame()`. */
  #pendingRead: Promise<ReadableStreamReadResult<Frame>> | null = null;
  #closed = false;

  constructor(conn: Deno.TcpConn, role: "server" | "client") {
    this.conn = conn;
    this.#role = role;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let written = 0; written < bytes.length;) {
      written += await this.conn.write(bytes.subarray(written));
    }
  }

  /** Writes each piece in its own write, with a pause between so they arrive apart. */
  async writePieces(pieces: Uint8Array[], pauseMs = 2): Promise<void> {
    for (const piece of pieces) {
      await this.write(piece);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /**
   * Reads an HTTP head one byte at a time, so no frame byte after it is consumed. Returns the head
   * (start line and headers).
   */
  async readHead(): Promise<string> {
    const byte = new Uint8Array(1);
    let head = "";
    while (!head.endsWith("\r\n\r\n")) {
      const count = await this.conn.read(byte);
      if (count === null) break;
      head += String.fromCharCode(byte[0]);
    }
    return head;
  }

  /** Reads everything until the server ends TCP: a whole HTTP response, say. */
  async readAll(): Promise<string> {
    let text = "";
    for await (const chunk of this.conn.readable) text += decoder.decode(chunk, { stream: true });
    this.#closed = true;
    return text + decoder.decode();
  }

  /**
   * The next frame from the peer, or null when TCP ends. After a timeout the read goes on, and
   * the next call gets its frame: none is lost.
   */
  async nextFrame(timeoutMs = 5000): Promise<Frame | null> {
    this.#frames ??= this.conn.readable.pipeThrough(
      new FrameParserStream({ role: this.#role, allowedRsv: this.allowedRsv }),
    )
      .getReader();
    const read = this.#pendingRead ??= this.#frames.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const { value, done } = await Promise.race([read, timeout]);
      this.#pendingRead = null;
      return done ? null : value;
    } catch (error) {
      // A failed read is over; a timed-out one is still pending.
      if (!(error instanceof Error && error.message.startsWith("no frame"))) {
        this.#pendingRead = null;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next data frame's payload as text. */
  async nextText(timeoutMs?: number): Promise<string> {
    const next = await this.nextFrame(timeoutMs);
    if (next === null) throw new Error("TCP ended instead of a text frame");
    if (next.opcode !== Opcode.Text) throw new Error(`opcode ${next.opcode} instead of text`);
    return decoder.decode(next.payload);
  }

  /**
   * Reads frames until the peer's close frame and the end of TCP, answering nothing; skips data
   * frames before the close.
   */
  async ending(timeoutMs = 5000): Promise<Ending> {
    let close: Ending["close"] = null;
    for (;;) {
      let next: Frame | null;
      try {
        next = await this.nextFrame(timeoutMs);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("no frame")) {
          return { close, tcpClosed: false };
        }
        // A reset after the close frame still ends TCP.
        return { close, tcpClosed: true };
      }
      if (next === null) return { close, tcpClosed: true };
      if (next.opcode === Opcode.Close) {
        const parsed = next.payload.length === 0
          ? { code: CloseCode.NoStatusReceived, reason: "" }
          : parseClosePayload(next.payload);
        close = parsed;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed by a finished readable.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** A raw client of a server on loopback. */
export class RawClient extends RawPeer {
  /** The server's HTTP response head. */
  responseHead = "";

  private constructor(conn: Deno.TcpConn) {
    super(conn, "client");
  }

  /** Connects to 127.0.0.1:port without a handshake. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /**
   * Connects and completes a handshake, with extra header lines in the request if given;
   * `firstBytes` go in the same write as the request.
   */
  static async open(
    port: number,
    firstBytes: Uint8Array = new Uint8Array(),
    extraHeaders = "",
    path = "/",
  ): Promise<RawClient> {
    const client = await RawClient.connect(port);
    const request = upgradeRequest(path, extraHeaders);
    const bytes = new Uint8Array(request.length + firstBytes.length);
    bytes.set(request);
    bytes.set(firstBytes, request.length);
    await client.write(bytes);
    await client.readResponseHead();
    if (!client.responseHead.startsWith("HTTP/1.1 101 ")) {
      throw new Error(`handshake refused: ${client.responseHead}`);
    }
    return client;
  }

  /**
   * Reads the server's response head; see {@linkcode RawPeer.readHead}. A response that agrees
   * permessage-deflate lets the server's frames carry RSV1 (RFC 7692 §6).
   */
  async readResponseHead(): Promise<string> {
    this.responseHead = await this.readHead();
    if (/^sec-websocket-extensions:\s*permessage-deflate/im.test(this.responseHead)) {
      this.allowedRsv = RSV1;
    }
    return this.responseHead;
  }
}

/** An HTTP response read to the end of TCP: its status, header fields and body. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Sends a valid upgrade request for `path` with `extraHeaders` (whole lines) and reads the
 * answer: the whole response for a refusal, the head alone for a 101.
 */
export async function requestUpgrade(
  port: number,
  extraHeaders = "",
  path = "/",
): Promise<RawResponse> {
  await using client = await RawClient.connect(port);
  await client.write(upgradeRequest(path, extraHeaders));
  const head = await withTimeout(client.readResponseHead(), "the response head");
  const body = head.startsWith("HTTP/1.1 101 ") ? "" : await withTimeout(client.readAll(), "body");
  return { ...parseResponseHead(head), body };
}

/** The status and header fields of an HTTP response head. */
export function parseResponseHead(head: string): { status: number; headers: Headers } {
  const [statusLine, ...lines] = head.trimEnd().split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers };
}
