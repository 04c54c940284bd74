/**
 * The `fetch` of a server that was given none: the test page at `/`, 404 for every other path,
 * 405 for methods other than GET and HEAD.
 *
 * @module
 */

import type { FetchHandler } from "./fetch_handler.ts";

/**
 * A fetch handler that serves `page` as HTML at `/` (and its head to `HEAD /`); `false` answers
 * `/` with 404 like every other path. Methods other than GET and HEAD get 405 with `Allow`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pageFetch } from "./page_fetch.ts";
 * const fetch = pageFetch("<h1>hi</h1>");
 * const info = { remoteAddr: { hostname: "127.0.0.1", port: 50000 }, upgrade: () => new Response() };
 * const page = await fetch(new Request("http://a/"), info);
 * assertEquals([page.status, await page.text()], [200, "<h1>hi</h1>"]);
 * assertEquals((await fetch(new Request("http://a/x"), info)).status, 404);
 * ```
 */
export function pageFetch(page: string | false): FetchHandler<unknown> {
  return (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (page === false || new URL(request.url).pathname !== "/") {
      return new Response("not found\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
  };
}
