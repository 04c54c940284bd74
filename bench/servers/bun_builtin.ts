// Peer: Bun's built-in WebSocket server (uWebSockets inside), as a plain echo server;
// `bun_builtin.ts <port> deflate` turns on its permessage-deflate. `bun_builtin.ts <port> rooms`
// serves rooms as `mod.ts --rooms` does: a connection on path P subscribes to topic P
// (`ws.subscribe`), and each message it sends goes to every subscriber of P, itself too
// (`server.publish`). `bun_builtin.ts <port> topics <n>` echoes, and subscribes each connection
// to n topics of 1,000 as `ours_heap.ts` does (the memory test). A request that is not an
// upgrade gets a small body (the HTTP cell of bench/http.ts).
// deno-lint-ignore-file no-explicit-any
const Bun = (globalThis as any).Bun;
const mode = Bun.argv[3] ?? "echo";
const deflate = mode === "deflate";
const topicsPerConnection = mode === "topics" ? Number(Bun.argv[4]) : 0;
let opened = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(Bun.argv[2] ?? 0),
  fetch(request: Request, server: any) {
    const topic = new URL(request.url).pathname;
    if (server.upgrade(request, { data: { topic } })) return;
    return new Response("Hello, world\n");
  },
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    perMessageDeflate: deflate,
    open(socket: any) {
      if (mode === "rooms") socket.subscribe(socket.data.topic);
      const first = opened++ * topicsPerConnection;
      for (let k = 0; k < topicsPerConnection; k++) socket.subscribe(`topic-${(first + k) % 1000}`);
    },
    message(socket: any, message: string | Uint8Array) {
      if (mode === "rooms") server.publish(socket.data.topic, message);
      // Bun compresses a message only when send() is told to.
      else socket.send(message, deflate);
    },
  },
});
console.log(`ready ${server.port}`);
