/**
 * Checks of what clients of the server report (an {@linkcode EchoReport}), and running
 * `echo_client.ts`, a client of the server on any runtime.
 */

import { assertEquals, assertExists, assertGreater, assertLess } from "@std/assert";
import { encodeBase64 } from "@std/encoding/base64";
import type { ClientMessage } from "../helpers/client.ts";
import { runToEnd } from "../helpers/process.ts";
import { type Runtime, scriptCommand } from "../helpers/server.ts";
import {
  CLIENT_CLOSE,
  type ClientKind,
  describeEcho,
  type EchoReport,
  MESSAGE_SETS,
  type MessageSet,
} from "./echo_client.ts";

const ECHO_CLIENT = new URL("./echo_client.ts", import.meta.url).pathname;

/**
 * The server's answer, with its default settings, to an offer of permessage-deflate that lets
 * it limit the client's window (Chromium's, Bun's, python-websockets' and ws's default offer).
 */
export const DEFAULT_DEFLATE_RESPONSE =
  "permessage-deflate; server_no_context_takeover; client_max_window_bits=15";

/**
 * Checks that `report` has every one of `messages` echoed exactly and in order, the extensions
 * `extensions` agreed, and the close of {@linkcode CLIENT_CLOSE} completed.
 */
export function assertEchoReport(
  report: EchoReport,
  messages: readonly ClientMessage[],
  extensions: string,
): void {
  const { bytesReceived: _, ...checked } = report;
  assertEquals(checked, {
    extensions,
    echoes: messages.map((message) => describeEcho(message, message)),
    close: { ...CLIENT_CLOSE, wasClean: true },
  });
}

/** The payload bytes of `messages` (UTF-8 for text), without frame headers. */
export function payloadBytes(messages: readonly ClientMessage[]): number {
  return messages.reduce((sum, message) => sum + describeEcho(message, message).bytes, 0);
}

/**
 * Checks that the server compressed what it sent: the client read less than a quarter of the
 * payload it got back. Compressible JSON shrinks far more; a server that sent it as it is
 * would be read at more than the payload (frame headers and the handshake come on top).
 */
export function assertCompressed(report: EchoReport, messages: readonly ClientMessage[]): void {
  assertExists(report.bytesReceived, "the client reported no byte count");
  assertLess(report.bytesReceived, payloadBytes(messages) / 4);
}

/** Checks that the server sent `messages` back as they are: the client read more than their payload. */
export function assertUncompressed(report: EchoReport, messages: readonly ClientMessage[]): void {
  assertExists(report.bytesReceived, "the client reported no byte count");
  assertGreater(report.bytesReceived, payloadBytes(messages));
}

/**
 * Runs `echo_client.ts` as a `kind` client on `runtime` against `url`, sending the message set
 * `messages` and trusting the CA in `caFile` if given (and, for `connect()`, offering
 * permessage-deflate if `deflate`); checks its report, with `extensions` the
 * `Sec-WebSocket-Extensions` the client must report.
 */
export async function assertEchoClient(
  runtime: Runtime,
  kind: ClientKind,
  url: string,
  { caFile, messages = "boundaries", extensions = "", deflate = false }: {
    caFile?: string;
    messages?: MessageSet;
    extensions?: string;
    deflate?: boolean;
  } = {},
): Promise<void> {
  const args = [
    kind,
    url,
    `--messages=${messages}`,
    ...caFile ? [`--ca=${caFile}`] : [],
    ...deflate ? ["--deflate"] : [],
  ];
  const command = scriptCommand(runtime, ECHO_CLIENT, args, { stdout: "piped", stderr: "piped" });
  const { code, stdout, stderr } = await runToEnd(command, `the ${runtime} client`, 30_000);
  assertEquals({ code, stderr }, { code: 0, stderr: "" });
  assertEchoReport(JSON.parse(stdout), MESSAGE_SETS[messages], extensions);
}

/** A message as JSON can carry it, for clients in other processes and languages. */
export type JsonMessage = { text: string } | { binary: string };

/** `messages` as JSON can carry them: text as it is, binary in base64. */
export function messagesAsJson(messages: readonly ClientMessage[]): JsonMessage[] {
  return messages.map((message) =>
    typeof message === "string" ? { text: message } : { binary: encodeBase64(message) }
  );
}
