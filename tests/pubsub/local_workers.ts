/**
 * `localPubSub` between real Web Workers of one process, on whichever runtime runs this script
 * (`local_test.ts` runs it on Deno and on Bun): three workers (`local_node.ts`) each publish a
 * burst, in one turn, far larger than Deno's `BroadcastChannel` holds; then one worker ends
 * without closing its relay, and one closes it. Prints one JSON line, {@linkcode Outcome}, for
 * the test to check; exits 1 with the error if a step does not finish within its time.
 */

import process from "node:process";
import type { Command, Report } from "./local_node.ts";

/** What each step found. */
export interface Outcome {
  nodes: string[];
  /** After every node published {@linkcode BURST} messages at once. */
  afterBursts: Report[];
  /** After node 2 was terminated without closing, and node 0 published {@linkcode AFTER}. */
  afterTerminate: Report[];
  /** After node 1 closed its relay, and node 0 published {@linkcode AFTER} more. */
  afterClose: Report;
}

/** Each node's burst: about 8 times what Deno's channel holds for the whole process. */
export const BURST = 2_000;
/** Messages published after a node went away. */
export const AFTER = 500;
/** Short, so that the step after a node vanishes takes a fraction of a second. */
export const PEER_TIMEOUT_MS = 300;
const STEP_TIMEOUT_MS = 20_000;

/** Sends `command` to worker `i` of `workers` and waits for its answer. */
function askWorker<Answer>(workers: Worker[], i: number, command: Command): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${i}: no answer to ${JSON.stringify(command)}`)),
      STEP_TIMEOUT_MS,
    );
    workers[i].onmessage = ({ data }) => {
      clearTimeout(timer);
      resolve(data as Answer);
    };
    workers[i].postMessage(command);
  });
}

async function main(): Promise<Outcome> {
  const name = `local-workers-${crypto.randomUUID()}`;
  const workers = [0, 1, 2].map(() =>
    new Worker(new URL("./local_node.ts", import.meta.url).href, { type: "module" })
  );
  const ask = <Answer>(i: number, command: Command) => askWorker<Answer>(workers, i, command);
  const askAll = <Answer>(indexes: number[], command: Command) =>
    Promise.all(indexes.map((i) => ask<Answer>(i, command)));
  const others = (i: number) => [0, 1, 2].filter((j) => j !== i);
  try {
    const started = await Promise.all(
      workers.map((_, index) =>
        ask<{ node: string }>(index, {
          command: "start",
          index,
          name,
          peerTimeoutMs: PEER_TIMEOUT_MS,
        })
      ),
    );
    // One message from each node to the others first, so that every node knows every other
    // before the bursts (a node that knows no peer holds nothing back).
    await askAll([0, 1, 2], { command: "burst", topic: "sync", count: 1 });
    await Promise.all(
      [0, 1, 2].map((i) => ask(i, { command: "expect", topic: "sync", from: others(i), count: 1 })),
    );

    await askAll([0, 1, 2], { command: "burst", topic: "t", count: BURST });
    await Promise.all(
      [0, 1, 2].map((i) =>
        ask(i, { command: "expect", topic: "t", from: others(i), count: BURST })
      ),
    );
    const afterBursts = await askAll<Report>([0, 1, 2], { command: "report" });

    workers[2].terminate();
    await ask(0, { command: "burst", topic: "t", count: AFTER });
    await ask(1, { command: "expect", topic: "t", from: [0], count: BURST + AFTER });
    await ask(0, { command: "published", count: 1 + BURST + AFTER });
    const afterTerminate = await askAll<Report>([0, 1], { command: "report" });

    await ask(1, { command: "close" });
    await ask(0, { command: "burst", topic: "t", count: AFTER });
    await ask(0, { command: "published", count: 1 + BURST + 2 * AFTER });
    const afterClose = await ask<Report>(0, { command: "report" });
    await ask(0, { command: "close" });
    return { nodes: started.map(({ node }) => node), afterBursts, afterTerminate, afterClose };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(await main()));
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}
