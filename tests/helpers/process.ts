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
 * killed and the wait fails, naming `what`. `input`, if given, is written to its stdin (the
 * command is then made with stdin piped), which is closed after it.
 */
export async function runToEnd(
  command: Deno.Command,
  what: string,
  timeoutMs = 20_000,
  input?: string,
): Promise<Finished> {
  const child = command.spawn();
  // Written while the output is read, so a child that prints before it has read everything
  // cannot block on a full pipe. A child that exits without reading it all breaks the pipe; its
  // exit code and stderr then say why, so the broken pipe itself is not the error.
  const written = input === undefined
    ? Promise.resolve()
    : writeAndClose(child.stdin, input).catch(() => {});
  const output = Promise.all([child.output(), written]).then(([output]) => output);
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

async function writeAndClose(stdin: WritableStream<Uint8Array>, input: string): Promise<void> {
  const writer = stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
}
