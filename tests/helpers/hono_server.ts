/**
 * A Hono app and its WebSockets on one port, as a process on any runtime (run it with
 * `scriptCommand`): `hono_server.ts <mode>` serves on 127.0.0.1 and a free port and prints
 * `Listening on http://127.0.0.1:<port>/` as the CLI does.
 *
 * Routes: `GET /` text, `POST /json` the JSON body back under `got`, `GET /stream` a body in
 * chunks, `PUT /upload` the length of the body it read, `GET /count` how many requests the app has seen (this one not counted). Modes:
 * - `beside`: `serve({ fetch: app.fetch }, handler)`: every upgrade goes to the handler, which
 *   echoes, and the app never sees one.
 * - `routed`: `fetchUpgrades: true`: the app accepts upgrades to `/rooms/:room` with
 *   `c.env.upgrade(c.req.raw, { data })`, and the handler prefixes each echo with the room;
 *   others get the app's 404.
 */

import { Hono } from "hono";
import { type FetchInfo, serve } from "../../mod.ts";
import { runtime } from "../../src/runtime/mod.ts";

type Data = { room: string } | undefined;

let requests = 0;
const app = new Hono<{ Bindings: FetchInfo<Data> }>();
app.use(async (c, next) => {
  if (c.req.path !== "/count") requests++;
  await next();
});
app.get("/", (c) => c.text("hello from hono"));
app.post("/json", async (c) => c.json({ got: await c.req.json() }));
app.get("/stream", (c) =>
  c.body(
    new ReadableStream({
      async start(controller) {
        for (const part of ["one ", "two ", "three"]) {
          controller.enqueue(new TextEncoder().encode(part));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        controller.close();
      },
    }),
  ));
app.put("/upload", async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
app.get("/count", (c) => c.text(String(requests)));
app.get("/rooms/:room", (c) => c.env.upgrade(c.req.raw, { data: { room: c.req.param("room") } }));

const [mode = "beside"] = runtime.args();
const server = serve<Data>({
  hostname: "127.0.0.1",
  port: 0,
  fetch: app.fetch,
  fetchUpgrades: mode === "routed",
}, (message, connection) => connection.data ? `${connection.data.room}: ${message}` : message);
console.log(`Listening on http://127.0.0.1:${server.addr.port}/`);
