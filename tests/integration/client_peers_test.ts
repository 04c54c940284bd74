/**
 * `connect()` against servers we did not write: Deno's built-in `Deno.upgradeWebSocket` in this
 * process, and Bun's `Bun.serve` (uWebSockets) as a `bun` process. Each echoes, closes with its
 * own code when asked, and reports the close it heard; Deno's also chooses a subprotocol.
 */

import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { type CloseInfo, connect, type Message, UpgradeFailedError } from "../../mod.ts";
import { firstDifference, patternBytes, withTimeout } from "../helpers/client.ts";
import { type EchoPeer, startBunPeer } from "../helpers/bun_peer.ts";

const MiB = 1024 * 1024;
/** What each peer closes with when sent "close please". */
const CLOSE_PLEASE = "close please";

/**
 * `Deno.serve` with `Deno.upgradeWebSocket`, echoing; `protocol` is the subprotocol it picks.
 * It refuses `/forbidden` with a plain 403.
 */
function startDenoPeer(protocol?: string): EchoPeer {
  const closes: PromiseWithResolvers<{ code: number; reason: string }>[] = [];
  let heard = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    if (new URL(request.url).pathname === "/forbidden") {
      return new Response("no entry\n", { status: 403 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      if (event.data === CLOSE_PLEASE) return socket.close(4001, "deno says bye");
      socket.send(event.data);
    };
    socket.onclose = (event) => {
      closes[heard] ??= Promise.withResolvers();
      closes[heard++].resolve({ code: event.code, reason: event.reason });
    };
    return response;
  });
  let waited = 0;
  return {
    url: `ws://127.0.0.1:${server.addr.port}/`,
    close: { code: 4001, reason: "deno says bye" },
    nextClose() {
      closes[waited] ??= Promise.withResolvers();
      return withTimeout(closes[waited++].promise, "Deno's close event");
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const PEERS: [string, () => EchoPeer | Promise<EchoPeer>][] = [
  ["Deno.upgradeWebSocket", () => startDenoPeer()],
  ["Bun.serve", () => startBunPeer()],
];

function ended(closed: Promise<CloseInfo>): Promise<CloseInfo> {
  return withTimeout(closed, "the client's end");
}

for (const [name, start] of PEERS) {
  Deno.test(`connect to ${name}: echoes text and binary, 1 MiB included`, async () => {
    await using peer = await start();
    const connection = await connect(peer.url);
    const texts = ["", "hello", "héllo wörld ✓ 𝄞", "x".repeat(126), "y".repeat(70_000)];
    for (const text of texts) {
      await connection.send(text);
      assertEquals(await withTimeout(connection.receive(), "a text echo"), text);
    }
    for (const length of [0, 125, 65536, MiB]) {
      const sent = patternBytes(length, length);
      await connection.send(sent);
      const received = await withTimeout(connection.receive(), "a binary echo", 10_000);
      if (typeof received === "string") throw new Error("text instead of binary");
      assertEquals(firstDifference(received, sent), -1, `${length} bytes`);
    }
    await connection.close();
    await peer.nextClose();
  });

  Deno.test(`connect to ${name}: many messages come back in order`, async () => {
    await using peer = await start();
    const connection = await connect(peer.url);
    const count = 1000;
    for (let i = 0; i < count; i++) connection.send(`${i}`);
    const received: Message[] = [];
    for (let i = 0; i < count; i++) {
      received.push(await withTimeout(connection.receive(), `message ${i}`));
    }
    assertEquals(received, Array.from({ length: count }, (_, i) => `${i}`));
    await connection.close();
    await peer.nextClose();
  });

  Deno.test(`connect to ${name}: the client's close code and reason reach it`, async () => {
    await using peer = await start();
    const connection = await connect(peer.url);
    const info = await withTimeout(connection.close(4000, "client says bye"), "the close");
    assertEquals(await peer.nextClose(), { code: 4000, reason: "client says bye" });
    assertEquals(info, { code: 4000, reason: "client says bye", wasClean: true });
  });

  Deno.test(`connect to ${name}: its close code and reason reach the client`, async () => {
    await using peer = await start();
    const connection = await connect(peer.url);
    await connection.send(CLOSE_PLEASE);
    assertEquals(await ended(connection.closed), { ...peer.close, wasClean: true });
    assertEquals(connection.state, "closed");
  });
}

Deno.test("connect to Deno.upgradeWebSocket: negotiates the subprotocol it picks", async () => {
  await using peer = startDenoPeer("chat");
  const connection = await connect(peer.url, { protocols: ["superchat", "chat"] });
  assertEquals(connection.protocol, "chat");
  await connection.send("still works");
  assertEquals(await withTimeout(connection.receive(), "the echo"), "still works");
  await connection.close();
  await peer.nextClose();
});

Deno.test("connect to Deno.serve: a plain 403 fails with its status and headers", async () => {
  await using peer = startDenoPeer();
  const error = await assertRejects(() => connect(`${peer.url}forbidden`));
  assertInstanceOf(error, UpgradeFailedError);
  assertEquals(error.status, 403);
  assertEquals(error.message, "the server answered 403 Forbidden, not 101");
  assertEquals(error.headers.get("content-length"), "9");
});
