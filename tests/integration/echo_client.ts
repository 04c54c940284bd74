/**
 * A client of the server, run as its own process on either runtime:
 * `echo_client.ts <websocket|connect> <url> [ca.pem]` sends {@linkcode MESSAGES} with the runtime's own
 * `WebSocket` or with this library's `connect()`, checks each echo, closes with 4001, and prints
 * one JSON line, an {@linkcode EchoReport}. `interop_test.ts` runs it and checks the report.
 */

import { connect } from "../../mod.ts";
import { args, readTextFile } from "../../src/runtime/mod.ts";
import {
  type ClientClose,
  type ClientMessage,
  firstDifference,
  patternBytes,
  TestClient,
} from "../helpers/client.ts";

/** What the client sends: text and binary at each length-field boundary, and 1 MiB. */
export const MESSAGES: (string | Uint8Array)[] = [
  "hello",
  "héllo wörld — ✓ 𝄞 🎉",
  "",
  "a".repeat(125),
  "b".repeat(126),
  "c".repeat(65536),
  patternBytes(0),
  patternBytes(125, 2),
  patternBytes(65535, 3),
  patternBytes(1024 * 1024, 4),
];

/** The close the client sends. */
export const CLIENT_CLOSE = { code: 4001, reason: "bye ✓" };

/** What came back for each message, in order, and how the connection ended. */
export interface EchoReport {
  echoes: { type: "text" | "binary"; length: number; identical: boolean }[];
  close: ClientClose;
}

/** The clients this script can be: the runtime's own `WebSocket`, or this library's `connect()`. */
export type ClientKind = "websocket" | "connect";

/** One client, as far as the exchange needs it. */
interface Session extends AsyncDisposable {
  send(message: ClientMessage): void;
  /** The next `count` messages. */
  collect(count: number): Promise<ClientMessage[]>;
  close(code: number, reason: string): Promise<ClientClose>;
}

async function open(kind: ClientKind, url: string, caCerts?: string[]): Promise<Session> {
  if (kind === "websocket") {
    const client = await TestClient.open(url);
    return {
      send: (message) => client.send(message),
      collect: (count) => client.collect(count, 20_000),
      close: (code, reason) => client.close(code, reason),
      [Symbol.asyncDispose]: () => client[Symbol.asyncDispose](),
    };
  }
  const connection = await connect(url, { caCerts });
  return {
    send: (message) => connection.send(message),
    async collect(count) {
      const received: ClientMessage[] = [];
      while (received.length < count) received.push(await connection.receive());
      return received;
    },
    async close(code, reason) {
      const info = await connection.close(code, reason);
      return { code: info.code, reason: info.reason, wasClean: info.wasClean };
    },
    [Symbol.asyncDispose]: async () => void await connection.close(),
  };
}

/**
 * Sends every message with a client of `kind`, collects the echoes, and closes; `caCerts` are
 * trusted for `wss://` by `connect()`.
 */
export async function exchangeEchoes(
  kind: ClientKind,
  url: string,
  caCerts?: string[],
): Promise<EchoReport> {
  await using client = await open(kind, url, caCerts);
  for (const message of MESSAGES) client.send(message);
  const received = await client.collect(MESSAGES.length);
  const echoes = received.map((echo, i) => {
    const sent = MESSAGES[i];
    const identical = typeof echo === "string" || typeof sent === "string"
      ? echo === sent
      : firstDifference(echo, sent) === -1;
    return {
      type: typeof echo === "string" ? "text" as const : "binary" as const,
      length: echo.length,
      identical,
    };
  });
  return { echoes, close: await client.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason) };
}

if (import.meta.main) {
  const [kind, url, caFile] = args();
  const caCerts = caFile ? [await readTextFile(caFile)] : undefined;
  console.log(JSON.stringify(await exchangeEchoes(kind as ClientKind, url, caCerts)));
}
