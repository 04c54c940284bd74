/**
 * A client of the server, run as its own process on any runtime:
 * `echo_client.ts <websocket|connect> <url> [--messages=<set>] [--ca=<ca.pem>] [--deflate]` sends
 * one of {@linkcode MESSAGE_SETS} with the runtime's own `WebSocket` or with this library's
 * `connect()` (offering permessage-deflate with `--deflate`), checks each echo, closes with 4001,
 * and prints one JSON line, an {@linkcode EchoReport}.
 * `echo_check.ts` runs it and checks the report; {@linkcode exchangeEchoes} also serves clients
 * run in the test's own process.
 */

import { connect } from "../../mod.ts";
import { runtime } from "../../src/runtime/mod.ts";
import {
  type ClientClose,
  type ClientMessage,
  firstDifference,
  patternBytes,
  TestClient,
} from "../helpers/client.ts";

/** Text and binary at each length-field boundary, and 1 MiB. */
export const MESSAGES: ClientMessage[] = [
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

/** A JSON record of an application's kind, with `items` entries of about 45 bytes each. */
function jsonRecord(index: number, items: number, note = ""): string {
  return JSON.stringify({
    id: index,
    type: index % 3 === 0 ? "snapshot" : "update",
    user: { name: `user-${index % 7}`, greeting: "héllo wörld ✓ 🎉" },
    items: Array.from({ length: items }, (_, item) => ({
      sku: `item-${item}`,
      price: (item * 37 % 1000) / 10,
      tags: ["new", "sale"].slice(0, item % 3),
    })),
    note,
  });
}

/** A {@linkcode jsonRecord} of exactly `bytes` bytes of UTF-8, padded in its `note`. */
function jsonRecordOfBytes(index: number, bytes: number): string {
  const record = jsonRecord(index, 0);
  return jsonRecord(index, 0, "x".repeat(bytes - new TextEncoder().encode(record).length));
}

/**
 * Item counts of the records in {@linkcode COMPRESSIBLE_MESSAGES}: from about 110 bytes to
 * about 30 KiB, with several either side of the server's default threshold of 1024 bytes.
 */
const RECORD_ITEMS = [0, 2, 8, 19, 21, 24, 60, 200, 650];

/**
 * Messages worth compressing, in both directions: 150 JSON records of every size in
 * {@linkcode RECORD_ITEMS}, alternately text and binary (the record's UTF-8); records of 1023,
 * 1024 and 1025 bytes either side of the default threshold, as text and binary; empty messages,
 * and random bytes that do not compress.
 */
export const COMPRESSIBLE_MESSAGES: ClientMessage[] = [
  ...Array.from({ length: 150 }, (_, index) => {
    const record = jsonRecord(index, RECORD_ITEMS[index % RECORD_ITEMS.length]);
    return index % 2 === 0 ? record : new TextEncoder().encode(record);
  }),
  ...[1023, 1024, 1025].flatMap((bytes, i) => {
    const record = jsonRecordOfBytes(150 + i, bytes);
    return [record, new TextEncoder().encode(record)];
  }),
  "",
  patternBytes(0),
  patternBytes(100, 7),
  patternBytes(4096, 8),
];

/** The message sets the script can send, by the name `--messages=` takes. */
export const MESSAGE_SETS = {
  boundaries: MESSAGES,
  compressible: COMPRESSIBLE_MESSAGES,
} as const;

/** The name of one of {@linkcode MESSAGE_SETS}. */
export type MessageSet = keyof typeof MESSAGE_SETS;

/** The close the client sends. */
export const CLIENT_CLOSE = { code: 4001, reason: "bye ✓" };

/** What came back for one message: its type, its size in bytes (UTF-8 for text), and whether it is the one sent. */
export interface Echo {
  type: "text" | "binary";
  bytes: number;
  identical: boolean;
}

/** What a client agreed with the server, what came back for each message, in order, and how the connection ended. */
export interface EchoReport {
  /** The `Sec-WebSocket-Extensions` the client reports agreeing on; "" for none. */
  extensions: string;
  echoes: Echo[];
  close: ClientClose;
  /** The bytes the client read from its TCP connection, handshake included, where it can tell. */
  bytesReceived?: number;
}

/** The clients this script can be: the runtime's own `WebSocket`, or this library's `connect()`. */
export type ClientKind = "websocket" | "connect";

/** One client, as far as an exchange of echoes needs it. */
export interface EchoSession extends AsyncDisposable {
  /** The `Sec-WebSocket-Extensions` agreed on; "" for none. */
  readonly extensions: string;
  send(message: ClientMessage): void;
  /** The next `count` messages. */
  collect(count: number): Promise<ClientMessage[]>;
  close(code: number, reason: string): Promise<ClientClose>;
  /** See {@linkcode EchoReport.bytesReceived}. */
  bytesReceived?(): number;
}

async function open(
  kind: ClientKind,
  url: string,
  options: { caCerts?: string[]; deflate?: boolean },
): Promise<EchoSession> {
  if (kind === "websocket") {
    const client = await TestClient.open(url);
    return {
      extensions: client.socket.extensions,
      send: (message) => client.send(message),
      collect: (count) => client.collect(count, 20_000),
      close: (code, reason) => client.close(code, reason),
      [Symbol.asyncDispose]: () => client[Symbol.asyncDispose](),
    };
  }
  const connection = await connect(url, options);
  return {
    extensions: connection.extensions,
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

/** How `echo` compares with `sent`. */
export function describeEcho(echo: ClientMessage, sent: ClientMessage): Echo {
  const identical = typeof echo === "string" || typeof sent === "string"
    ? echo === sent
    : firstDifference(echo, sent) === -1;
  return typeof echo === "string"
    ? { type: "text", bytes: new TextEncoder().encode(echo).length, identical }
    : { type: "binary", bytes: echo.length, identical };
}

/**
 * Sends every one of `messages` on `session` at once, collects the echoes, closes with
 * {@linkcode CLIENT_CLOSE}, and reports.
 */
export async function exchangeEchoes(
  session: EchoSession,
  messages: readonly ClientMessage[],
): Promise<EchoReport> {
  for (const message of messages) session.send(message);
  const received = await session.collect(messages.length);
  const echoes = received.map((echo, i) => describeEcho(echo, messages[i]));
  const close = await session.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason);
  const report: EchoReport = { extensions: session.extensions, echoes, close };
  if (session.bytesReceived) report.bytesReceived = session.bytesReceived();
  return report;
}

if (import.meta.main) {
  const [kind, url, ...options] = runtime.args();
  const option = (name: string) =>
    options.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const caFile = option("ca");
  const caCerts = caFile ? [await runtime.readTextFile(caFile)] : undefined;
  const messages = MESSAGE_SETS[(option("messages") ?? "boundaries") as MessageSet];
  const deflate = options.includes("--deflate");
  await using session = await open(kind as ClientKind, url, { caCerts, deflate });
  console.log(JSON.stringify(await exchangeEchoes(session, messages)));
}
