/**
 * An echo server that is not ours, for client tests: Bun's `Bun.serve` (uWebSockets inside), run
 * as a `bun` process, with or without permessage-deflate.
 */

import { withTimeout } from "./client.ts";

const BUN_ECHO_SERVER = new URL("../integration/bun_echo_server.ts", import.meta.url).pathname;

/** A running echo server that is not ours. */
export interface EchoPeer extends AsyncDisposable {
  url: string;
  /** The close code and reason it sends when asked to close. */
  close: { code: number; reason: string };
  /** The code and reason of the next close frame it hears from a client. */
  nextClose(): Promise<{ code: number; reason: string }>;
}

/**
 * `tests/integration/bun_echo_server.ts` run by `bun`, with permessage-deflate if `deflate`; its
 * closes come as lines on stdout.
 */
export async function startBunPeer({ deflate = false } = {}): Promise<EchoPeer> {
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command("bun", {
      args: [BUN_ECHO_SERVER, ...(deflate ? ["--deflate"] : [])],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      "bun is not on PATH: install it (npm install -g bun); these tests are never skipped",
    );
  }
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (what: string) => {
    const read = async () => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`bun exited before ${what}`);
        buffered += value;
      }
      const end = buffered.indexOf("\n");
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      return line;
    };
    return await withTimeout(read(), what, 10_000);
  };
  const dispose = async () => {
    try {
      process.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await process.status;
    await lines.cancel();
  };
  try {
    const ready = /^ready (\d+)$/.exec(await nextLine("listening"));
    if (!ready) throw new Error("bun printed something other than its port");
    return {
      url: `ws://127.0.0.1:${ready[1]}/`,
      close: { code: 4002, reason: "bun says bye" },
      async nextClose() {
        const closed = /^closed (\d+) (.*)$/.exec(await nextLine("Bun's close"));
        if (!closed) throw new Error("bun printed something other than a close");
        return { code: Number(closed[1]), reason: closed[2] };
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
