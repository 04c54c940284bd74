// Peer: Bun's built-in WebSocket server (uWebSockets inside), as a plain echo server;
// `bun_builtin.ts <port> deflate` turns on its permessage-deflate.
// deno-lint-ignore-file no-explicit-any
const Bun = (globalThis as any).Bun;
const deflate = Bun.argv[3] === "deflate";
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(Bun.argv[2] ?? 0),
  fetch(request: Request, server: any) {
    if (server.upgrade(request)) return;
    return new Response("WebSocket only\n", { status: 400 });
  },
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    perMessageDeflate: deflate,
    message(socket: any, message: string | Uint8Array) {
      // Bun compresses a message only when send() is told to.
      socket.send(message, deflate);
    },
  },
});
console.log(`ready ${server.port}`);
