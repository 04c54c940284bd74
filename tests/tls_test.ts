import { assertEquals, assertMatch, assertNotEquals, assertRejects } from "@std/assert";
// @ts-types="@types/ws"
import WebSocket from "ws";
import { connect } from "../mod.ts";
import { withTimeout } from "./helpers/client.ts";
import { runToEnd } from "./helpers/process.ts";
import { runtimePairs, scriptCommand, startCli, startServer, testCli } from "./helpers/server.ts";
import { makeCertificates } from "./helpers/tls.ts";
import { assertEchoClient } from "./integration/echo_check.ts";

const ECHO_CLIENT = new URL("./integration/echo_client.ts", import.meta.url).pathname;
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

const CLI_TLS = ["--cert", `${certificates.dir}/cert.pem`, "--key", `${certificates.dir}/key.pem`];

testCli(
  "tls: the CLI with --cert and --key serves wss:// and the test page over https://",
  async (cli) => {
    assertEquals(cli.output().includes(`Listening on https://127.0.0.1:${cli.port}/`), true);
    const connection = await connect(`wss://localhost:${cli.port}/`, { caCerts: [ca] });
    await connection.send("secure");
    assertEquals(await connection.receive(), "secure");
    await connection.close();
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      const response = await fetch(`https://localhost:${cli.port}/`, { client });
      assertEquals([response.status, (await response.text()).includes("<html")], [200, true]);
    } finally {
      client.close();
    }
  },
  CLI_TLS,
);

// Our client on each runtime, over TLS, against the server on each other.
for (const [clientRuntime, serverRuntime] of runtimePairs()) {
  Deno.test(`tls: connect() on ${clientRuntime} gets its echoes over wss:// from the server on ${serverRuntime}`, async () => {
    await using cli = await startCli(serverRuntime, CLI_TLS);
    const url = `wss://localhost:${cli.port}/`;
    await assertEchoClient(clientRuntime, "connect", url, { caFile: `${certificates.dir}/ca.pem` });
  });
}

for (const runtime of ["bun", "node"] as const) {
  Deno.test(`tls: connect() on ${runtime} refuses a server whose certificate it cannot check, whatever NODE_TLS_REJECT_UNAUTHORIZED says`, async () => {
    await using cli = await startCli("deno", CLI_TLS);
    const url = `wss://localhost:${cli.port}/`;
    const command = scriptCommand(runtime, ECHO_CLIENT, ["connect", url], {
      stdout: "piped",
      stderr: "piped",
      env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" },
    });
    const { code, stderr } = await runToEnd(command, `the ${runtime} client`, 30_000);
    assertNotEquals(code, 0);
    assertMatch(stderr, /certificate/i);
  });
}

addEventListener("unload", () => Deno.removeSync(certificates.dir, { recursive: true }));
