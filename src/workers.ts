/**
 * Workers: copies of one server on the threads of one process, sharing its port (`reusePort`,
 * so the kernel spreads connections among them). The thread that calls `serve({ workers })`
 * first is the primary: it serves too, and starts the others, each running the program's main
 * module again, as Node's `cluster` does, to the same `serve()` call, which there joins the
 * primary's port. One signal to the primary shuts them all down.
 *
 * @module
 */

import process from "node:process";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/** Where the primary puts what a worker needs in its `workerData`. */
const SETUP_KEY = "@wsd/server worker";

/**
 * What the primary tells each worker it starts.
 *
 * @example
 * ```ts
 * import type { WorkerSetup } from "./workers.ts";
 * const setup: WorkerSetup = {
 *   index: 1, port: 8000, args: ["--rooms"], mainModule: "file:///app/main.ts", group: "wsd-1",
 * };
 * ```
 */
export interface WorkerSetup {
  /** The worker's number, from 1; the primary is 0. */
  index: number;
  /** The port the primary listens on, for the worker to share. */
  port: number;
  /** The primary's command line, which a worker's `process.argv` lacks on some runtimes. */
  args: string[];
  /** The program's main module, which each worker runs: `href` of the primary's. */
  mainModule: string;
  /** The name the workers' topics relay (`localPubSub`) shares. */
  group: string;
}

/** What a worker and its primary say to each other. */
type Note = { type: "listening" } | { type: "shutdown" } | { type: "finished" };

/**
 * This thread's setup, when it is a worker a server's primary started; null otherwise.
 *
 * @example
 * ```ts
 * import { workerSetup } from "./workers.ts";
 * console.log(workerSetup()); // null: this is no worker
 * ```
 */
export function workerSetup(): WorkerSetup | null {
  if (isMainThread) return null;
  const setup = (workerData as Record<string, WorkerSetup> | null)?.[SETUP_KEY];
  return setup ?? null;
}

/**
 * How many copies of the server `workers` asks for: a whole number of 1 or more, or `"auto"`
 * for one per core.
 *
 * @throws {RangeError} for anything else.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { workerCount } from "./workers.ts";
 * assertEquals([workerCount(undefined), workerCount(3)], [1, 3]);
 * ```
 */
export function workerCount(workers: number | "auto" | undefined): number {
  if (workers === undefined) return 1;
  if (workers === "auto") return Math.max(1, navigator.hardwareConcurrency);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a whole number of 1 or more, or "auto", not ${workers}`);
  }
  return workers;
}

/**
 * The workers a primary started, `count` of them beside itself, each running the main module of
 * `setup`, told its {@linkcode WorkerSetup}; `onError` hears of one that fails.
 *
 * @example
 * ```ts ignore
 * import { Workers } from "./workers.ts";
 * const setup = { port: 8000, args: [], mainModule: Deno.mainModule, group: "g" };
 * const workers = new Workers(3, setup, console.error);
 * await workers.shutdown();
 * ```
 */
export class Workers {
  readonly #workers: Worker[] = [];
  readonly #listening: Promise<void>[] = [];
  readonly #finished: Promise<void>[] = [];

  /** Starts the workers. */
  constructor(count: number, setup: Omit<WorkerSetup, "index">, onError: (error: unknown) => void) {
    // Bun runs a worker without the process's --preload scripts unless told them again; Deno and
    // Node ignore the option (Node's workers inherit its flags by themselves).
    const preload = process.execArgv.flatMap((arg) =>
      arg.startsWith("--preload=") ? [arg.slice("--preload=".length)] : []
    );
    for (let index = 1; index <= count; index++) {
      const worker = new Worker(
        new URL(setup.mainModule),
        {
          workerData: { [SETUP_KEY]: { ...setup, index } satisfies WorkerSetup },
          preload,
        } as ConstructorParameters<typeof Worker>[1],
      );
      const listening = Promise.withResolvers<void>();
      const finished = Promise.withResolvers<void>();
      worker.on("message", (note: Note) => {
        if (note.type === "listening") listening.resolve();
        if (note.type === "finished") finished.resolve();
      });
      const ended = () => {
        listening.resolve();
        finished.resolve();
      };
      worker.on("error", (error) => {
        onError(error);
        ended();
      });
      worker.on("exit", ended);
      this.#workers.push(worker);
      this.#listening.push(listening.promise);
      this.#finished.push(finished.promise);
    }
  }

  /** Resolves once every worker listens on the port, or has failed (which `onError` hears). */
  listening(): Promise<void> {
    return Promise.all(this.#listening).then(() => {});
  }

  /** Asks every worker to shut its server down, and resolves once they all have. */
  async shutdown(): Promise<void> {
    for (const worker of this.#workers) worker.postMessage({ type: "shutdown" } satisfies Note);
    await Promise.all(this.#finished);
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

/**
 * In a worker whose server listens: tells the primary so, shuts `server` down when the primary
 * says to, and tells the primary once it has finished.
 *
 * @example
 * ```ts ignore
 * import { followPrimary } from "./workers.ts";
 * followPrimary(server);
 * ```
 */
export function followPrimary(
  server: { shutdown(): Promise<void>; finished: Promise<void> },
): void {
  const port = parentPort!;
  port.postMessage({ type: "listening" } satisfies Note);
  port.on("message", (note: Note) => {
    if (note.type === "shutdown") server.shutdown();
  });
  server.finished.then(() => port.postMessage({ type: "finished" } satisfies Note));
}
