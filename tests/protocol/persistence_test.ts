import { assertEquals } from "@std/assert";
import { isPersistent } from "../../src/protocol/persistence.ts";

const CASES: [string, string | null, boolean][] = [
  ["HTTP/1.1", null, true],
  ["HTTP/1.1", "keep-alive", true],
  ["HTTP/1.1", "Upgrade", true],
  ["HTTP/1.1", "close", false],
  ["HTTP/1.1", "Close", false],
  ["HTTP/1.1", "keep-alive, close", false],
  ["HTTP/1.1", "x-a, CLOSE ", false],
  ["HTTP/1.1", "closed", true],
  ["HTTP/1.2", null, true],
  ["HTTP/1.0", null, false],
  ["HTTP/1.0", "keep-alive", true],
  ["HTTP/1.0", "Keep-Alive", true],
  ["HTTP/1.0", "x-a,keep-alive", true],
  ["HTTP/1.0", "keep-alive, close", false],
  ["HTTP/1.0", "keep-alives", false],
];

for (const [version, connection, persistent] of CASES) {
  Deno.test(`persistence: ${version} with Connection ${JSON.stringify(connection)} ${persistent ? "persists" : "closes"}`, () => {
    const headers = new Headers(connection === null ? {} : { connection });
    assertEquals(isPersistent({ version, headers }), persistent);
  });
}
