// This server answering plain HTTP through its `fetch` handler: every request gets the same
// small body, as the HTTP cell's peers (`deno_builtin.ts`, `bun_builtin.ts`) answer it; its
// WebSockets echo, as the command line's do.
import { serve } from "../../mod.ts";

const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response("Hello, world\n"),
}, (message) => message);
console.log(`ready ${server.addr.port}`);
