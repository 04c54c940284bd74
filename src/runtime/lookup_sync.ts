/**
 * A host name's address, looked up synchronously on Node, so that `listen()` can bind a name such
 * as `localhost` and still return, or throw, at once: Node's own `dns.lookup` only calls back
 * later, and `node:net` servers look up every host they are given that way.
 *
 * @module
 */

import { Worker } from "node:worker_threads";

/** The longest answer the lookup writes back: an IPv6 address in text, or an error code. */
const MAX_ANSWER_BYTES = 64;

/** How long the lookup may take before it fails, as `getaddrinfo` itself would give up. */
const LOOKUP_TIMEOUT_MS = 10_000;

/**
 * What runs in the worker: `dns.lookup`, the lookup `node:net` itself does, whose address family
 * (4 or 6, or -1 for an error) and address (or error code) it writes into the shared buffer
 * before waking the waiting thread.
 */
const LOOKUP = `
  const { workerData } = require("node:worker_threads");
  const { hostname, answer } = workerData;
  require("node:dns").lookup(hostname, (error, address, family) => {
    const text = new TextEncoder().encode(error ? String(error.code) : address);
    new Uint8Array(answer.buffer, 8).set(text.subarray(0, ${MAX_ANSWER_BYTES}));
    answer[1] = Math.min(text.length, ${MAX_ANSWER_BYTES});
    Atomics.store(answer, 0, error ? -1 : family);
    Atomics.notify(answer, 0);
  });
`;

/** An address found for a host name. */
export interface LookedUp {
  address: string;
  family: 4 | 6;
}

/**
 * Looks `hostname` up as `dns.lookup` does (the system's resolver: `/etc/hosts`, then DNS),
 * blocking this thread until the answer comes: a worker thread does the lookup, and this one
 * waits on a shared buffer with `Atomics.wait`. It takes a worker's start-up, tens of
 * milliseconds, so it is meant for a listener's start, not for every connection.
 *
 * @throws an error whose `code` is `dns.lookup`'s (`ENOTFOUND` …), or `ETIMEOUT`.
 *
 * @example
 * ```ts ignore
 * import { lookupSync } from "./lookup_sync.ts";
 * console.log(lookupSync("localhost")); // { address: "127.0.0.1", family: 4 }
 * ```
 */
export function lookupSync(hostname: string): LookedUp {
  // [family or 0 while waiting, answer length, answer bytes…]
  const answer = new Int32Array(new SharedArrayBuffer(8 + MAX_ANSWER_BYTES));
  const worker = new Worker(LOOKUP, { eval: true, workerData: { hostname, answer } });
  try {
    Atomics.wait(answer, 0, 0, LOOKUP_TIMEOUT_MS);
  } finally {
    worker.terminate();
  }
  // Copied out first: text is not decoded from shared memory.
  const text = new TextDecoder().decode(new Uint8Array(answer.buffer, 8, answer[1]).slice());
  const family = Atomics.load(answer, 0);
  if (family === 4 || family === 6) return { address: text, family };
  const code = family === 0 ? "ETIMEOUT" : text;
  throw Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), {
    code,
    syscall: "getaddrinfo",
    hostname,
  });
}
