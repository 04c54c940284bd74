/**
 * The HTTP/1.1 side of one accepted TCP connection: it reads requests one after another (RFC 9112
 * §9.3, persistent connections; pipelined ones are answered in order, as each is read only once
 * the one before is answered), hands each plain request to the application (`http_exchange.ts`)
 * and an upgrade to the WebSocket side (`websocket_upgrade.ts`), until the connection ends or
 * becomes a WebSocket.
 *
 * @module
 */

import { SYSTEM_CLOCK } from "./clock.ts";
import { Deadline } from "./deadline.ts";
import { exchange } from "./http_exchange.ts";
import { hangUp, readHead } from "./http_io.ts";
import { type BodyFraming, requestBodyFraming } from "./protocol/body_framing.ts";
import { HandshakeError } from "./protocol/errors.ts";
import { handshakeErrorResponse, isUpgradeRequest } from "./protocol/handshake.ts";
import { type ParsedHead, type RequestHead, RequestHeadParser } from "./protocol/http1.ts";
import { ReadBuffer } from "./read_loop.ts";
import { writeResponse } from "./response_writer.ts";
import type { ServerSettings } from "./serve_options.ts";
import { closeQuietly, type Transport, writeAll } from "./transport.ts";
import type { Watchdog } from "./watchdog.ts";
import { type Slots, upgrade, type Upgraded } from "./websocket_upgrade.ts";

export type { Slots };

/** A request that became a WebSocket, and the read buffer it hands on. */
export interface UpgradedConnection<Data> extends Upgraded<Data> {
  /** The read buffer, handed on to the connection; none for a transport with `readChunk`. */
  buffer?: Uint8Array;
}

const NOTHING: Uint8Array = new Uint8Array(0);

/**
 * Serves the requests of one TCP connection. Its deadlines: the first request head must come
 * within `handshakeTimeoutMs` of the connection (and `onUpgrade` decide within it); a kept-alive
 * connection may then be quiet for `keepAliveTimeoutMs` before its next request begins, which
 * must then be complete within `handshakeTimeoutMs`. Past a deadline the connection is ended
 * without an answer. The application's answer has no deadline, but at shutdown. The deadlines
 * are times, which the server's one watchdog sweeps over all its HTTP connections
 * ({@linkcode HttpConnection.check}): a timer per request would cost more than the request.
 *
 * @example
 * ```ts ignore
 * import { HttpConnection } from "./http_connection.ts";
 * const upgraded = await new HttpConnection(transport, settings, slots, watchdog).serve();
 * if (upgraded) upgraded.connection.run(upgraded.rest, upgraded.buffer);
 * ```
 */
export class HttpConnection<Data> {
  readonly #transport: Transport;
  readonly #settings: ServerSettings<Data>;
  readonly #slots: Slots;
  /** One read buffer serves the request heads and bodies, then the WebSocket. */
  readonly #buffer = new ReadBuffer();
  readonly #watchdog: Watchdog<HttpConnection<Data>> | null;
  /** When what is waited for now (a head, an upgrade's decision) is due, by the clock; or 0. */
  #dueAt = 0;
  #dueReason: () => Error = () => new Error("timed out");
  /** The deadline an upgrade's decision races, made only for an upgrade; cut when it is due. */
  #deadline: Deadline | null = null;
  #stopping = false;
  #exchanging = false;
  /** The exchange under way's, aborted once it has outlived `closeTimeoutMs` at shutdown. */
  #abandoned: PromiseWithResolvers<never> | null = null;

  /**
   * Serves `transport` for the server of `settings`; upgrades take `slots`; `watchdog` sweeps
   * its deadlines (none when null: every deadline is off).
   */
  constructor(
    transport: Transport,
    settings: ServerSettings<Data>,
    slots: Slots,
    watchdog: Watchdog<HttpConnection<Data>> | null,
  ) {
    this.#transport = transport;
    this.#settings = settings;
    this.#slots = slots;
    this.#watchdog = watchdog;
  }

  /**
   * Serves requests until the connection ends (null: it is closed), or one becomes a WebSocket,
   * which comes back to be run.
   */
  async serve(): Promise<UpgradedConnection<Data> | null> {
    this.#watchdog?.add(this);
    try {
      return await this.#serve();
    } catch (error) {
      // Nothing of the protocol throws here: this is a fault of the server's, reported.
      this.#settings.onError(error);
      return this.#end();
    } finally {
      this.#watchdog?.delete(this);
    }
  }

  /** The watchdog's sweep: ends the connection if what it waits for is overdue at `now`. */
  check(now: number): void {
    if (this.#dueAt !== 0 && now >= this.#dueAt) this.#expire(this.#dueReason());
  }

  async #serve(): Promise<UpgradedConnection<Data> | null> {
    let leftover = NOTHING;
    for (let first = true;; first = false) {
      let parsed: ParsedHead<RequestHead> | null;
      try {
        parsed = await this.#nextHead(leftover, first);
      } catch (error) {
        // A transport that failed mid-head (reset, timed out) has no one left to answer.
        if (!(error instanceof HandshakeError)) return this.#end();
        return await this.#refuse(handshakeErrorResponse(error));
      }
      if (parsed === null) return this.#end();
      const answered = await this.#answer(parsed);
      if (answered === null) return null;
      if (answered instanceof Uint8Array) {
        leftover = answered;
        continue;
      }
      // A transport that hands over its chunks (readChunk) reads into no buffer: not kept.
      const chunked = this.#transport.readChunk !== undefined;
      return { ...answered, buffer: chunked ? undefined : this.#buffer.bytes };
    }
  }

  /**
   * The server is shutting down: a request still arriving, or an upgrade being decided, ends now;
   * an exchange under way is answered with `Connection: close`, within `closeTimeoutMs`.
   */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (!this.#exchanging) return this.#expire(new HandshakeError(503, "server shutting down"));
    const { closeTimeoutMs } = this.#settings;
    this.#arm(closeTimeoutMs, () => new Error(`no response within closeTimeoutMs at shutdown`));
  }

  /** Reads the next request head: the first, or one after a response on a kept-alive connection. */
  async #nextHead(leftover: Uint8Array, first: boolean): Promise<ParsedHead<RequestHead> | null> {
    const { handshakeTimeoutMs, keepAliveTimeoutMs } = this.#settings;
    const idle = !first && leftover.length === 0;
    const headDeadline = () =>
      this.#arm(
        handshakeTimeoutMs,
        () =>
          new Error(
            `onUpgrade did not settle within handshakeTimeoutMs (${handshakeTimeoutMs} ms)`,
          ),
      );
    if (idle) {
      this.#arm(keepAliveTimeoutMs, () => new Error("keep-alive timeout"));
    } else headDeadline();
    if (this.#stopping) this.#expire(new HandshakeError(503, "server shutting down"));
    const parser = new RequestHeadParser(this.#settings);
    const parsed = leftover.length > 0 ? parser.push(leftover) : null;
    return parsed ?? await readHead(this.#transport, this.#buffer.bytes, parser, () => {
      if (idle) headDeadline();
    });
  }

  /**
   * Answers one request: the bytes after it when the connection goes on, the upgraded connection,
   * or null once the connection is ended.
   */
  async #answer(parsed: ParsedHead<RequestHead>): Promise<Uint8Array | Upgraded<Data> | null> {
    const { head } = parsed;
    const settings = this.#settings;
    let framing: BodyFraming;
    try {
      // Framing first: a request whose end is in doubt is refused whatever it asks for.
      framing = requestBodyFraming(head, settings);
      if (isUpgradeRequest(head)) {
        if (framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0)) {
          throw new HandshakeError(400, "an upgrade request has no body");
        }
        // What the decision races: cut by the sweep once the head's deadline comes.
        const deadline = this.#deadline = new Deadline(0, this.#dueReason);
        deadline.expired.catch(() => closeQuietly(this.#transport));
        const answer = await upgrade(this.#transport, parsed, settings, deadline, this.#slots);
        this.#clear();
        if ("connection" in answer) return answer;
        return await this.#refuse(answer, head);
      }
    } catch (error) {
      this.#clear();
      if (!(error instanceof HandshakeError)) return this.#end();
      return await this.#refuse(handshakeErrorResponse(error));
    }
    this.#clear();
    this.#exchanging = true;
    // One per exchange: a promise that outlived its exchanges would gather their reactions.
    const abandoned = this.#abandoned = Promise.withResolvers<never>();
    abandoned.promise.catch(() => {});
    try {
      const outcome = await exchange(
        this.#transport,
        this.#buffer,
        parsed,
        framing,
        { ...settings, scheme: settings.scheme === "wss" ? "https" : "http" },
        () => !this.#stopping,
        abandoned.promise,
      );
      if (outcome.keepAlive && !this.#stopping) return outcome.rest;
      await hangUp(
        this.#transport,
        settings.closeTimeoutMs,
        outcome.keepAlive ? null : outcome.reading,
      );
      return null;
    } finally {
      this.#exchanging = false;
      this.#abandoned = null;
      this.#clear();
    }
  }

  /**
   * Writes a refusal (the bytes of a whole response, or the `Response` with which `fetch` refused
   * the upgrade `head`), then ends the connection politely.
   */
  async #refuse(refusal: Uint8Array | Response, head?: RequestHead): Promise<null> {
    try {
      if (refusal instanceof Uint8Array) await writeAll(this.#transport, refusal);
      else {
        await writeResponse(this.#transport, refusal, {
          request: head!,
          beforeHead: () => Promise.resolve(false),
          onError: this.#settings.onError,
        });
      }
    } catch {
      return this.#end();
    }
    await hangUp(this.#transport, this.#settings.closeTimeoutMs);
    return null;
  }

  /** Sets the deadline that ends the connection, in place of the one before; 0 for none. */
  #arm(timeoutMs: number, reason: () => Error): void {
    this.#dueAt = timeoutMs > 0 ? SYSTEM_CLOCK.now() + timeoutMs : 0;
    this.#dueReason = reason;
  }

  #clear(): void {
    this.#dueAt = 0;
    this.#deadline = null;
  }

  /**
   * Ends what the connection waits for, for `reason`: an upgrade's decision fails with it (the
   * deadline's end closes the transport), an exchange given up at shutdown is abandoned, and
   * anything else ends with the transport.
   */
  #expire(reason: Error): void {
    this.#dueAt = 0;
    this.#abandoned?.reject(reason);
    if (this.#deadline) this.#deadline.cut(reason);
    else closeQuietly(this.#transport);
  }

  #end(): null {
    this.#clear();
    closeQuietly(this.#transport);
    return null;
  }
}
