// Peer: Node.js with the ws package, as a plain echo server; `node_ws.mjs <port> deflate` turns
// on its permessage-deflate, with its defaults.
import { WebSocketServer } from "ws";

const server = new WebSocketServer({
  host: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  perMessageDeflate: process.argv[3] === "deflate",
  maxPayload: 64 * 1024 * 1024,
});
server.on("connection", (socket) => {
  socket.on(
    "message",
    (data, isBinary) => socket.send(data, { binary: isBinary }),
  );
});
server.on("listening", () => console.log(`ready ${server.address().port}`));
