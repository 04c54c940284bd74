/**
 * The application's side of plain HTTP: the `fetch` handler that every request other than a
 * WebSocket upgrade goes to (Web-standard, as `Deno.serve`'s and `Bun.serve`'s, so a framework's
 * `app.fetch` fits), what it is told besides the request, and how it hands an upgrade request to
 * the WebSocket side.
 *
 * @module
 */

import type { NetAddress } from "./transport.ts";
import type { UpgradeAcceptance } from "./upgrade.ts";

/**
 * Answers one plain HTTP request with a `Response`, or a promise of one. `info` says who asked,
 * and, with `fetchUpgrades`, accepts a WebSocket upgrade request. If it throws or rejects, or
 * gives something that is not a `Response`, the client gets 500 and the error goes to `onError`.
 *
 * @example A handler of its own
 * ```ts
 * import type { FetchHandler } from "./fetch_handler.ts";
 * const hello: FetchHandler = (request, info) =>
 *   new Response(`hello ${info.remoteAddr.hostname}, you asked for ${new URL(request.url).pathname}`);
 * ```
 */
export type FetchHandler<Data = undefined> = (
  request: Request,
  info: FetchInfo<Data>,
) => Response | Promise<Response>;

/**
 * What a {@linkcode FetchHandler} is told besides the request. A framework that passes its
 * handler's second argument on as its environment (Hono's `c.env`) gives it to the routes.
 *
 * @example Type Hono's environment with it
 * ```ts ignore
 * import { Hono } from "hono";
 * import type { FetchInfo } from "jsr:@wsd/server";
 * const app = new Hono<{ Bindings: FetchInfo<{ room: string }> }>();
 * app.get("/rooms/:room", (c) => c.env.upgrade(c.req.raw, { data: { room: c.req.param("room") } }));
 * ```
 */
export interface FetchInfo<Data = undefined> {
  /** The client's address. */
  readonly remoteAddr: NetAddress;
  /**
   * Accepts the WebSocket upgrade `request` (as Bun's `server.upgrade(request, { data })`): once
   * the handler returns, the server answers with 101 and the connection's messages go to
   * `serve()`'s handler, with `acceptance`'s subprotocol, response headers and `data`, as an
   * `onUpgrade` that returned it. It returns a placeholder `Response` for the handler to return:
   * whatever the handler returns after calling it is ignored. Only a server with
   * `fetchUpgrades: true` gives upgrade requests to `fetch`; those reach it checked against
   * RFC 6455 §4.2.1, with a `maxConnections` slot taken.
   *
   * @throws {TypeError} for a request that is not the upgrade request this call is deciding (a
   * plain request, say), or when called twice.
   */
  upgrade(request: Request, acceptance?: UpgradeAcceptance<Data>): Response;
}

/**
 * The {@linkcode FetchInfo} of one request, which remembers whether the handler accepted it as a
 * WebSocket.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { RequestInfo } from "./fetch_handler.ts";
 * const request = new Request("http://example.com/chat");
 * const info = new RequestInfo({ hostname: "127.0.0.1", port: 50000 }, request);
 * assertThrows(() => info.upgrade(new Request("http://example.com/other")), TypeError);
 * info.upgrade(request, { protocol: "chat" });
 * assertEquals(info.acceptance, { protocol: "chat" });
 * ```
 */
export class RequestInfo<Data> implements FetchInfo<Data> {
  readonly remoteAddr: NetAddress;
  readonly #upgradable: Request | null;
  #acceptance: UpgradeAcceptance<Data> | null = null;

  /** The info of a request from `remoteAddr`; `upgradable` is the upgrade request it decides. */
  constructor(remoteAddr: NetAddress, upgradable: Request | null = null) {
    this.remoteAddr = remoteAddr;
    this.#upgradable = upgradable;
  }

  /** See {@linkcode FetchInfo.upgrade}. */
  upgrade(request: Request, acceptance: UpgradeAcceptance<Data> = {}): Response {
    if (this.#upgradable === null || request !== this.#upgradable) {
      throw new TypeError(
        "not a WebSocket upgrade request this server gave to fetch (see fetchUpgrades)",
      );
    }
    if (this.#acceptance !== null) throw new TypeError("this request is already upgraded");
    this.#acceptance = acceptance;
    return new Response(null);
  }

  /** The acceptance given to {@linkcode upgrade}, or null when it was not called. */
  get acceptance(): UpgradeAcceptance<Data> | null {
    return this.#acceptance;
  }
}
