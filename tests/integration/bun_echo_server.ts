// A peer for the client tests: Bun's built-in WebSocket server (uWebSockets inside), started as
// `bun tests/integration/bun_echo_server.ts`. It prints `ready <port>`, echoes every message,
// closes with 4002 when sent "close please", and prints `closed <code> <reason>` for each close.
// With `--deflate` it accepts permessage-deflate.
// deno-lint-ignore-file no-explicit-any
const Bun = (globalThis as any).Bun;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request: Request, server: any) {
    if (server.upgrade(request)) return;
    return new Response("WebSocket only\n", { status: 400 });
  },
  websocket: {
    perMessageDeflate: Bun.argv.includes("--deflate"),
    maxPayloadLength: 64 * 1024 * 1024,
    message(socket: any, message: string | Uint8Array) {
      if (message === "close please") socket.close(4002, "bun says bye");
      else socket.send(message);
    },
    close(_socket: any, code: number, reason: string) {
      console.log(`closed ${code} ${reason}`);
    },
  },
});
console.log(`ready ${server.port}`);
