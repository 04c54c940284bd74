/**
 * `connect()` in the shape of the WHATWG `WebSocketStream` proposal, so that code written for it
 * runs on this client: an `opened` promise of the connection's `readable` and `writable` (and
 * `protocol`, `extensions`), a `closed` promise of its close code and reason, and `close()`.
 *
 * @module
 */

import { connect, type ConnectOptions } from "./client.ts";
import { MAX_CLOSE_REASON_BYTES } from "./protocol/close.ts";
import { CloseCode } from "./protocol/close_code.ts";
import { webSocketUrl } from "./protocol/client_handshake.ts";
import { WebSocketError } from "./protocol/errors.ts";
import type { Message } from "./protocol/message.ts";
import type { WebSocketConnection } from "./websocket.ts";

/** Options of {@linkcode WebSocketStream}: the proposal's, and `connect()`'s. */
export interface WebSocketStreamOptions extends Omit<ConnectOptions, "handler"> {
  /** Subprotocols to offer, most preferred first. @default {[]} */
  protocols?: readonly string[];
  /** Aborts the opening; once the connection is open, it has no effect. @default none */
  signal?: AbortSignal;
}

/** What {@linkcode WebSocketStream.opened} resolves with. */
export interface WebSocketOpenInfo {
  /** The messages, one chunk per message: a string for text, a `Uint8Array` for binary. */
  readable: ReadableStream<Message>;
  /** Each chunk written is sent as one message. */
  writable: WritableStream<Message>;
  /** The extensions agreed on, or "". */
  extensions: string;
  /** The subprotocol the server chose, or "". */
  protocol: string;
}

/** A close code and reason, as {@linkcode WebSocketStream.closed} gives them and `close()` takes. */
export interface WebSocketCloseInfo {
  /** The close code. */
  closeCode?: number;
  /** The close reason. @default {""} */
  reason?: string;
}

const encoder = new TextEncoder();

/**
 * A WebSocket client in the shape of the WHATWG `WebSocketStream` proposal, over
 * {@linkcode connect}: `readable` and `writable` are the connection's, with its flow control
 * (not reading stops reading the server; `ready` waits while the server is behind).
 *
 * Where it differs from the proposal: a URL that is not `ws://` or `wss://` throws a
 * `TypeError` (the proposal: a `SyntaxError`, and it takes `http:` too); binary messages are
 * `Uint8Array`s; and `close()` without a code sends 1000, where the proposal sends a close frame
 * without one.
 *
 * @example Send one message and read the echo
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { serve } from "./server.ts";
 * import { WebSocketStream } from "./websocket_stream.ts";
 * const server = serve({ port: 0, hostname: "127.0.0.1" }, (message) => message);
 * const wss = new WebSocketStream(`ws://127.0.0.1:${server.addr.port}/`);
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * const reader = readable.getReader();
 * assertEquals((await reader.read()).value, "hello");
 * wss.close({ closeCode: 1000, reason: "done" });
 * assertEquals(await wss.closed, { closeCode: 1000, reason: "done" });
 * await server.shutdown();
 * ```
 */
export class WebSocketStream {
  /** The URL connected to. */
  readonly url: string;
  /** Resolves once the connection is open; rejects when it cannot be opened. */
  readonly opened: Promise<WebSocketOpenInfo>;
  /**
   * Resolves with the close code and reason the server sent once the connection has closed
   * cleanly; rejects with a {@linkcode WebSocketError} when it did not, or could not be opened.
   */
  readonly closed: Promise<WebSocketCloseInfo>;
  readonly #aborted = new AbortController();
  #connection: WebSocketConnection | null = null;

  /**
   * Starts connecting to `url`.
   *
   * @throws {TypeError} for a URL that is not `ws://` or `wss://`.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    this.url = webSocketUrl(url).href;
    const signals = [this.#aborted.signal, ...(options.signal ? [options.signal] : [])];
    const connecting = connect(url, { ...options, signal: AbortSignal.any(signals) });
    this.opened = connecting.then((connection) => {
      this.#connection = connection;
      // Closed while the last step of the opening was under way: closed now.
      if (this.#aborted.signal.aborted) this.#close(this.#aborted.signal.reason);
      const { readable, writable, protocol, extensions } = connection;
      return { readable, writable, protocol, extensions };
    });
    this.closed = connecting.then(async (connection) => {
      const { code, reason, wasClean } = await connection.closed;
      if (!wasClean) {
        throw new WebSocketError("the connection was not closed cleanly", {
          closeCode: code,
          reason,
        });
      }
      return { closeCode: code, reason };
    });
    // Nobody need wait for these, as in a browser.
    this.opened.catch(() => {});
    this.closed.catch(() => {});
  }

  /**
   * Closes the connection with `closeCode` (1000 or 3000–4999; 1000 when none is given) and
   * `reason`; before it is open, abandons the opening.
   *
   * @throws {DOMException} `InvalidAccessError` for another code, `SyntaxError` for a reason of
   * more than 123 bytes.
   */
  close(closeInfo: WebSocketCloseInfo = {}): void {
    const { closeCode, reason = "" } = closeInfo;
    if (
      closeCode !== undefined &&
      closeCode !== CloseCode.Normal && !(closeCode >= 3000 && closeCode <= 4999)
    ) {
      throw new DOMException(`the close code ${closeCode} may not be sent`, "InvalidAccessError");
    }
    if (encoder.encode(reason).length > MAX_CLOSE_REASON_BYTES) {
      throw new DOMException("a close reason is at most 123 bytes", "SyntaxError");
    }
    const error = new WebSocketError("closed before it was open", { closeCode, reason });
    if (this.#connection === null) this.#aborted.abort(error);
    else this.#close(error);
  }

  #close({ closeCode, reason }: WebSocketError): void {
    this.#connection!.close(closeCode ?? CloseCode.Normal, reason);
  }
}
