/**
 * permessage-deflate (RFC 7692) with clients we did not write, each against the server on Deno
 * and on Bun: the `ws` npm package's client (in this process), python-websockets (a
 * `/usr/bin/python3` process), Bun's `WebSocket` and Deno's `WebSocket` (processes running
 * `echo_client.ts`). Every client sends {@linkcode COMPRESSIBLE_MESSAGES} (JSON records, text and
 * binary, either side of the threshold) at once, checks each echo exactly and in order, and
 * reports the `Sec-WebSocket-Extensions` it agreed on; where it can count the bytes it read, the
 * test checks the server really compressed. `browser_test.ts` does the same with Chromium.
 */

import { assertEquals } from "@std/assert";
// @ts-types="@types/ws"
import type WebSocket from "ws";
import type { ServeOptions } from "../../mod.ts";
import { runToEnd } from "../helpers/process.ts";
import { runtimePairs, startCli, testCli, testConfigured } from "../helpers/server.ts";
import {
  assertCompressed,
  assertEchoClient,
  assertEchoReport,
  assertUncompressed,
  DEFAULT_DEFLATE_RESPONSE,
  messagesAsJson,
} from "./echo_check.ts";
import {
  CLIENT_CLOSE,
  COMPRESSIBLE_MESSAGES,
  type EchoReport,
  exchangeEchoes,
} from "./echo_client.ts";
import { openWs } from "./ws_client.ts";

/** How long python-websockets' whole exchange may take: generous, the machine may be busy. */
const PYTHON_TIMEOUT_MS = 60_000;

const url = (server: { port: number }) => `ws://127.0.0.1:${server.port}/`;

// The ws client.

/**
 * Runs the ws client with `perMessageDeflate` against the server at `url`: every echo exact and
 * in order, `response` agreed, and what the server sent compressed.
 */
async function assertWsEchoes(
  url: string,
  perMessageDeflate: WebSocket.ClientOptions["perMessageDeflate"],
  response: string,
): Promise<void> {
  await using session = await openWs(url, perMessageDeflate);
  assertEquals(session.socket.extensions, "permessage-deflate");
  const report = await exchangeEchoes(session, COMPRESSIBLE_MESSAGES);
  assertEchoReport(report, COMPRESSIBLE_MESSAGES, response);
  assertCompressed(report, COMPRESSIBLE_MESSAGES);
}

const WS_OFFERS: {
  offer: string;
  perMessageDeflate: WebSocket.ClientOptions["perMessageDeflate"];
  response: string;
}[] = [
  { offer: "its default offer", perMessageDeflate: true, response: DEFAULT_DEFLATE_RESPONSE },
  {
    offer: "no context takeover either way, compressing everything",
    perMessageDeflate: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      threshold: 0,
    },
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
      "client_max_window_bits=15",
  },
  {
    offer: "windows of 9 bits for the server and 10 for itself",
    perMessageDeflate: { serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    response: "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; " +
      "client_max_window_bits=10",
  },
];

for (const { offer, perMessageDeflate, response } of WS_OFFERS) {
  testCli(
    `deflate interop: the ws client with ${offer} gets every echo exact, compressed, from --deflate`,
    (cli) => assertWsEchoes(url(cli), perMessageDeflate, response),
    ["--deflate"],
  );
}

const WS_SERVERS: { deflate: ServeOptions["deflate"]; response: string }[] = [
  // Context kept across the messages the server sends: a compressor per connection.
  {
    deflate: { serverNoContextTakeover: false },
    response: "permessage-deflate; client_max_window_bits=15",
  },
  {
    deflate: { clientNoContextTakeover: true },
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
      "client_max_window_bits=15",
  },
  // Windows limited by the server, for a client that lets it.
  {
    deflate: { serverNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    response: "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11",
  },
  { deflate: { threshold: 0 }, response: DEFAULT_DEFLATE_RESPONSE },
];

for (const { deflate, response } of WS_SERVERS) {
  testConfigured(
    `deflate interop: the ws client gets every echo exact, compressed, from a server with deflate ${
      JSON.stringify(deflate)
    }`,
    { deflate },
    "echo",
    (server) => assertWsEchoes(url(server), true, response),
  );
}

// python-websockets.

const PYTHON = "/usr/bin/python3";
const PYTHON_ECHO_CLIENT = new URL("./python_echo_client.py", import.meta.url).pathname;

/** What python-websockets offers: its default, none, or permessage-deflate with these parameters. */
type PythonOffer = "default" | "none" | {
  server_no_context_takeover?: boolean;
  client_no_context_takeover?: boolean;
  server_max_window_bits?: number;
  client_max_window_bits?: number;
};

/** Runs `python_echo_client.py` against `url`, offering `offer`, and returns its report. */
async function pythonEchoes(url: string, offer: PythonOffer): Promise<EchoReport> {
  const request = {
    url,
    compression: offer !== "none",
    offer: typeof offer === "object" ? offer : null,
    messages: messagesAsJson(COMPRESSIBLE_MESSAGES),
    close: CLIENT_CLOSE,
    timeoutSeconds: PYTHON_TIMEOUT_MS / 1000,
  };
  const command = new Deno.Command(PYTHON, {
    args: [PYTHON_ECHO_CLIENT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  // The script bounds its own exchange; this bounds the process, python's start included.
  const { code, stdout, stderr } = await runToEnd(
    command,
    "python-websockets",
    PYTHON_TIMEOUT_MS + 15_000,
    JSON.stringify(request),
  );
  assertEquals({ code, stderr }, { code: 0, stderr: "" });
  return JSON.parse(stdout);
}

testCli(
  "deflate interop: python-websockets with its default offer gets every echo exact, compressed, from --deflate",
  async (cli) => {
    const report = await pythonEchoes(url(cli), "default");
    assertEchoReport(report, COMPRESSIBLE_MESSAGES, DEFAULT_DEFLATE_RESPONSE);
    assertCompressed(report, COMPRESSIBLE_MESSAGES);
  },
  ["--deflate"],
);

testCli(
  "deflate interop: python-websockets asking for no context takeover and windows of 9 and 10 bits gets every echo exact, compressed, from --deflate",
  async (cli) => {
    const report = await pythonEchoes(url(cli), {
      server_no_context_takeover: true,
      client_no_context_takeover: true,
      server_max_window_bits: 9,
      client_max_window_bits: 10,
    });
    assertEchoReport(
      report,
      COMPRESSIBLE_MESSAGES,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
        "server_max_window_bits=9; client_max_window_bits=10",
    );
    assertCompressed(report, COMPRESSIBLE_MESSAGES);
  },
  ["--deflate"],
);

testCli(
  "deflate interop: python-websockets without compression gets every echo exact, uncompressed, from --deflate",
  async (cli) => {
    const report = await pythonEchoes(url(cli), "none");
    assertEchoReport(report, COMPRESSIBLE_MESSAGES, "");
    assertUncompressed(report, COMPRESSIBLE_MESSAGES);
  },
  ["--deflate"],
);

testConfigured(
  "deflate interop: python-websockets told client_no_context_takeover gets every echo exact, compressed, from a server compressing everything",
  { deflate: { clientNoContextTakeover: true, threshold: 0 } },
  "echo",
  async (server) => {
    const report = await pythonEchoes(url(server), "default");
    assertEchoReport(
      report,
      COMPRESSIBLE_MESSAGES,
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
        "client_max_window_bits=15",
    );
    assertCompressed(report, COMPRESSIBLE_MESSAGES);
  },
);

// Bun's, Node's and Deno's WebSocket, as processes.

testCli(
  "deflate interop: Bun's WebSocket agrees on permessage-deflate with --deflate and gets every echo exact",
  (cli) =>
    assertEchoClient("bun", "websocket", url(cli), {
      messages: "compressible",
      // Bun's `extensions` leaves out a window of 15, its default.
      extensions: "permessage-deflate; server_no_context_takeover",
    }),
  ["--deflate"],
);

testConfigured(
  "deflate interop: Bun's WebSocket keeps the server's context and gets every echo exact",
  { deflate: { serverNoContextTakeover: false } },
  "echo",
  (server) =>
    assertEchoClient("bun", "websocket", url(server), {
      messages: "compressible",
      extensions: "permessage-deflate",
    }),
);

testCli(
  "deflate interop: Node's WebSocket agrees on permessage-deflate with --deflate and gets every echo exact",
  (cli) =>
    assertEchoClient("node", "websocket", url(cli), {
      messages: "compressible",
      extensions: DEFAULT_DEFLATE_RESPONSE,
    }),
  ["--deflate"],
);

testConfigured(
  "deflate interop: Node's WebSocket keeps the server's context and gets every echo exact",
  { deflate: { serverNoContextTakeover: false } },
  "echo",
  (server) =>
    assertEchoClient("node", "websocket", url(server), {
      messages: "compressible",
      extensions: "permessage-deflate; client_max_window_bits=15",
    }),
);

// Our own client, offering permessage-deflate, and server, on every pair of different runtimes.
for (const [clientRuntime, serverRuntime] of runtimePairs()) {
  Deno.test(`deflate interop: connect() on ${clientRuntime} with deflate gets every echo exact from the CLI on ${serverRuntime} with --deflate`, async () => {
    await using cli = await startCli(serverRuntime, ["--deflate"]);
    await assertEchoClient(clientRuntime, "connect", url(cli), {
      messages: "compressible",
      deflate: true,
      extensions: DEFAULT_DEFLATE_RESPONSE,
    });
  });
}

testCli(
  "deflate interop: Deno's WebSocket, which offers no extension, gets every echo exact from --deflate",
  (cli) =>
    assertEchoClient("deno", "websocket", url(cli), { messages: "compressible", extensions: "" }),
  ["--deflate"],
);
