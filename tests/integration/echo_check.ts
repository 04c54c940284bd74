/** Runs `echo_client.ts`, a client of the server on either runtime, and checks its report. */

import { assertEquals } from "@std/assert";
import { runToEnd } from "../helpers/process.ts";
import { type Runtime, scriptCommand } from "../helpers/server.ts";
import { CLIENT_CLOSE, type ClientKind, type EchoReport, MESSAGES } from "./echo_client.ts";

const ECHO_CLIENT = new URL("./echo_client.ts", import.meta.url).pathname;

/**
 * Runs `echo_client.ts` as a `kind` client on `runtime` against `url`, trusting the CA in `caFile`
 * if given; checks its report.
 */
export async function assertEchoClient(
  runtime: Runtime,
  kind: ClientKind,
  url: string,
  caFile?: string,
): Promise<void> {
  const command = scriptCommand(runtime, ECHO_CLIENT, [kind, url, ...caFile ? [caFile] : []], {
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await runToEnd(command, `the ${runtime} client`, 30_000);
  assertEquals({ code, stderr }, { code: 0, stderr: "" });
  const expected: EchoReport = {
    echoes: MESSAGES.map((message) => ({
      type: typeof message === "string" ? "text" : "binary",
      length: message.length,
      identical: true,
    })),
    close: { ...CLIENT_CLOSE, wasClean: true },
  };
  assertEquals(JSON.parse(stdout), expected);
}
