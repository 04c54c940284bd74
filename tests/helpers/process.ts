/** Running a command to its end, for tests of processes: the CLI, and clients of other runtimes. */

import { withTimeout } from "./client.ts";

/** What a finished process printed and how it exited. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command`, made with stdout and stderr piped, until it exits; after `timeoutMs` it is
 * killed and the wait fails, naming `what`.
 */
export async function runToEnd(
  command: Deno.Command,
  what: string,
  timeoutMs = 20_000,
): Promise<Finished> {
  const child = command.spawn();
  const output = child.output();
  try {
    const { code, stdout, stderr } = await withTimeout(output, what, timeoutMs);
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } catch (error) {
    child.kill();
    await output;
    throw error;
  }
}
