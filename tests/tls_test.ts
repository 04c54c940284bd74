import { assertEquals, assertMatch, assertRejects } from "@std/assert";
// @ts-types="@types/ws"
import WebSocket from "ws";
import { connect } from "../mod.ts";
import { withTimeout } from "./helpers/client.ts";
import { startServer } from "./helpers/server.ts";
import { makeCertificates } from "./helpers/tls.ts";

const certificates = await makeCertificates();
const { cert, key, ca } = certificates;

Deno.test("tls: connect() over wss:// checks the server's certificate against a given CA and echoes", async () => {
  await using server = startServer({ cert, key }, (message) => message);
  for (const host of ["localhost", "127.0.0.1"]) {
    const connection = await connect(`wss://${host}:${server.port}/chat`, { caCerts: [ca] });
    await connection.send("over TLS");
    assertEquals(await connection.receive(), "over TLS");
    const large = new Uint8Array(1024 * 1024).map((_, i) => i * 7);
    await connection.send(large);
    assertEquals(await connection.receive(), large);
    assertEquals((await connection.close(1000, "done")).code, 1000);
  }
});

Deno.test("tls: the handler sees a wss:// URL", async () => {
  await using server = startServer({ cert, key }, (_message, connection) => connection.url.href);
  const connection = await connect(`wss://localhost:${server.port}/room?x=1`, { caCerts: [ca] });
  await connection.send("where?");
  assertEquals(await connection.receive(), `wss://localhost:${server.port}/room?x=1`);
  await connection.close();
});

Deno.test("tls: a client that does not trust the CA refuses the server", async () => {
  await using server = startServer({ cert, key, onError: () => {} }, (message) => message);
  const error = await assertRejects(() => connect(`wss://localhost:${server.port}/`));
  assertMatch(String(error), /certificate|UnknownIssuer/i);
});

Deno.test("tls: the ws client, trusting the CA, gets its echo over wss://", async () => {
  await using server = startServer({ cert, key }, (message) => message);
  const socket = new WebSocket(`wss://localhost:${server.port}/`, { ca });
  try {
    const reply = new Promise<string>((resolve, reject) => {
      socket.once("open", () => socket.send("ws over TLS"));
      socket.once("message", (data) => resolve(String(data)));
      socket.once("error", reject);
    });
    assertEquals(await withTimeout(reply, "the echo over TLS"), "ws over TLS");
  } finally {
    socket.terminate();
  }
});

Deno.test("tls: cert without key is refused before listening", () => {
  let error: unknown;
  try {
    startServer({ cert }, (message) => message);
  } catch (caught) {
    error = caught;
  }
  assertEquals((error as Error).message, "TLS needs both cert and key");
});

addEventListener("unload", () => Deno.removeSync(certificates.dir, { recursive: true }));
