// This server's rooms without its topics, for comparing the two: a connection on path P joins
// the set of P's connections, and each message it sends goes, by one `connection.send` per
// member, to every connection of P, itself too; what `mod.ts --rooms` does with one
// `server.publish`, which frames the message once for all of them.
import { serve, type WebSocketConnection } from "../../mod.ts";

const rooms = new Map<string, Set<WebSocketConnection>>();
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  page: false,
  onOpen(connection) {
    const path = connection.url.pathname;
    let room = rooms.get(path);
    if (room === undefined) rooms.set(path, room = new Set());
    room.add(connection);
  },
  onClose(connection) {
    const path = connection.url.pathname;
    const room = rooms.get(path);
    room?.delete(connection);
    if (room?.size === 0) rooms.delete(path);
  },
}, (message, connection) => {
  // A member that has closed meanwhile rejects; the others go on.
  for (const member of rooms.get(connection.url.pathname) ?? []) {
    member.send(message).catch(() => {});
  }
});
console.log(`ready ${server.addr.port}`);
