/**
 * Bun's own `WebSocket` as a client of the server: `bun tests/integration/bun_client.ts <url>`
 * sends {@linkcode MESSAGES}, checks each echo, closes with 4001, and prints one JSON line, an
 * {@linkcode EchoReport}. `interop_test.ts` runs it and checks the report.
 */

import { type ClientClose, firstDifference, patternBytes, TestClient } from "../helpers/client.ts";

declare const Bun: { readonly argv: string[] };

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

/** Sends every message, collects the echoes, and closes. */
export async function exchangeEchoes(url: string): Promise<EchoReport> {
  await using client = await TestClient.open(url);
  for (const message of MESSAGES) client.send(message);
  const received = await client.collect(MESSAGES.length, 20_000);
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
  return {
    echoes,
    close: await client.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason),
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(await exchangeEchoes(Bun.argv[2])));
}
