/**
 * Checks of the Bun adapter that only Bun can run: `bun tests/runtime/bun_checks.ts` runs each of
 * {@linkcode CHECKS} on a loopback connection made with the adapter's own `listen` and `connect`,
 * and prints one JSON line per check, `{ "check": name }` or `{ "check": name, "error": text }`.
 * `bun_test.ts` runs it and turns each line into a test step.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { concatBytes } from "../../src/protocol/bytes.ts";
import { bun } from "../../src/runtime/bun.ts";

const { connect, listen } = bun;
import { type Listener, ListenError, type Transport, writeAll } from "../../src/transport.ts";
import { delay, firstDifference, patternBytes, withTimeout } from "../helpers/client.ts";

const LOOPBACK = "127.0.0.1";

/** A listener, a connection to it, and the server's end of that connection; all closed after. */
async function withPair(
  check: (
    pair: { listener: Listener; client: Transport; server: Transport },
  ) => void | Promise<void>,
): Promise<void> {
  const listener = listen({ hostname: LOOPBACK, port: 0 });
  try {
    const client = await connect({ hostname: LOOPBACK, port: listener.addr.port });
    const server = await listener.accept();
    try {
      await check({ listener, client, server });
    } finally {
      client.close();
      server.close();
    }
  } finally {
    listener.close();
  }
}

/** Reads until `length` bytes have come, in reads of at most `readBytes`; returns them and the counts. */
async function readExactly(transport: Transport, length: number, readBytes: number) {
  const pieces: Uint8Array[] = [];
  const counts: number[] = [];
  let total = 0;
  const buffer = new Uint8Array(readBytes);
  while (total < length) {
    const count = await transport.read(buffer);
    if (count === null) throw new Error(`the stream ended after ${total} of ${length} bytes`);
    pieces.push(buffer.slice(0, count));
    counts.push(count);
    total += count;
  }
  return { bytes: concatBytes(pieces), counts };
}

const encoder = new TextEncoder();

/** Each check by name; one that throws has failed. */
export const CHECKS: Record<string, () => void | Promise<void>> = {
  "bytes larger than the read buffer come in buffer-sized reads, in order": () =>
    withPair(async ({ client, server }) => {
      const sent = patternBytes(100_000, 1);
      await writeAll(client, sent);
      const { bytes, counts } = await readExactly(server, sent.length, 1000);
      assertEquals(firstDifference(bytes, sent), -1);
      assert(counts.every((count) => count > 0 && count <= 1000), `read counts ${counts}`);
    }),

  "a reader that stops pauses the socket, so the writer waits; all arrives once it reads": () =>
    withPair(async ({ client, server }) => {
      // Far more than loopback's kernel buffers (a few MiB) hold.
      const sent = patternBytes(32 * 1024 * 1024, 2);
      let finished = false;
      const writing = writeAll(client, sent).then(() => finished = true);
      await delay(500);
      assert(!finished, "all 32 MiB were taken while nobody read: the socket was not paused");
      const { bytes } = await withTimeout(
        readExactly(server, sent.length, 256 * 1024),
        "reading 32 MiB",
        20_000,
      );
      assertEquals(firstDifference(bytes, sent), -1);
      await withTimeout(writing, "the writer finishing", 5000);
    }),

  "closeWrite sends FIN: the peer reads the end and can still answer": () =>
    withPair(async ({ client, server }) => {
      await writeAll(client, encoder.encode("last words"));
      await client.closeWrite();
      const { bytes } = await readExactly(server, 10, 64);
      assertEquals(new TextDecoder().decode(bytes), "last words");
      assertEquals(await withTimeout(server.read(new Uint8Array(64)), "the end"), null);
      await writeAll(server, encoder.encode("answer"));
      const answer = await readExactly(client, 6, 64);
      assertEquals(new TextDecoder().decode(answer.bytes), "answer");
      await server.closeWrite();
      assertEquals(await withTimeout(client.read(new Uint8Array(64)), "the end"), null);
    }),

  "close ends both ways: the peer's waiting read gets the end, and a later write fails": () =>
    withPair(async ({ client, server }) => {
      const waiting = server.read(new Uint8Array(64));
      client.close();
      assertEquals(await withTimeout(waiting, "the waiting read"), null);
      await assertRejects(() => client.write(encoder.encode("too late")));
    }),

  "remoteAddr is the peer's address": () =>
    withPair(({ listener, client }) => {
      assertEquals(client.remoteAddr, { hostname: LOOPBACK, port: listener.addr.port });
    }),

  "listening on a taken port throws ListenError AddrInUse": () => {
    const taken = listen({ hostname: LOOPBACK, port: 0 });
    try {
      const error = assertThrows(
        () => listen({ hostname: LOOPBACK, port: taken.addr.port }),
        ListenError,
      );
      assertEquals(error.failure, "AddrInUse");
      assertEquals(
        error.message,
        `cannot listen on ${LOOPBACK}:${taken.addr.port}: the address is already in use`,
      );
    } finally {
      taken.close();
    }
  },

  "closing the listener rejects a waiting accept and refuses new connections": async () => {
    const listener = listen({ hostname: LOOPBACK, port: 0 });
    const accepting = listener.accept();
    listener.close();
    await assertRejects(() => withTimeout(accepting, "the waiting accept"));
    await assertRejects(() => connect({ hostname: LOOPBACK, port: listener.addr.port }));
  },
};

if (import.meta.main) {
  let failed = false;
  for (const [check, run] of Object.entries(CHECKS)) {
    try {
      await withTimeout(Promise.resolve(run()), check, 30_000);
      console.log(JSON.stringify({ check }));
    } catch (error) {
      failed = true;
      console.log(JSON.stringify({ check, error: String(error) }));
    }
  }
  if (failed) process.exitCode = 1;
}
