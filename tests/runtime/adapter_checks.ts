/**
 * Checks of the adapter of a runtime whose sockets push (Bun, Node), run on that runtime:
 * `<runtime> tests/runtime/adapter_checks.ts <dir>` runs each of {@linkcode CHECKS} against the
 * adapter `src/runtime/mod.ts` picks there, on loopback connections made with its own `listen` and
 * `connect`, over TCP and over TLS with the certificates in `<dir>` (`ca.pem`, `cert.pem`,
 * `key.pem`, as `tests/helpers/tls.ts` makes them), and prints one JSON line per check,
 * `{ "check": name }` or `{ "check": name, "error": text }`. `adapter_test.ts` runs it on Bun and
 * on Node, with `NODE_TLS_REJECT_UNAUTHORIZED=0`, and turns each line into a test step.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { concatBytes } from "../../src/protocol/bytes.ts";
import { runtime } from "../../src/runtime/mod.ts";
import {
  type Listener,
  ListenError,
  type TlsCertificate,
  type Transport,
  writeAll,
} from "../../src/transport.ts";
import { delay, firstDifference, patternBytes, withTimeout } from "../helpers/client.ts";

const { connect, listen } = runtime;

const LOOPBACK = "127.0.0.1";

/** The server's certificate and the CA that signed it, read at the start. */
let certificates: TlsCertificate & { ca: string };

/**
 * A listener, a connection to it, and the server's end of that connection; all closed after.
 * With `tls`, the listener serves the test certificate, and the client, trusting its CA, connects
 * to `host`.
 */
async function withPair(
  check: (
    pair: { listener: Listener; client: Transport; server: Transport },
  ) => void | Promise<void>,
  { tls = false, host = tls ? "localhost" : LOOPBACK }: { tls?: boolean; host?: string } = {},
): Promise<void> {
  const listener = listen({ hostname: LOOPBACK, port: 0 }, tls ? certificates : undefined);
  try {
    const client = await connect(
      { hostname: host, port: listener.addr.port },
      tls ? { caCerts: [certificates.ca] } : undefined,
    );
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
const decoder = new TextDecoder();

/**
 * Writes 32 MiB, far more than loopback's kernel buffers (a few MiB) hold, while nobody reads:
 * the writer must be left waiting, so the socket was paused. Then everything must arrive intact,
 * which it would not if the runtime wrote new data into the buffer of a chunk kept unread.
 */
async function checkPausedReader({ client, server }: { client: Transport; server: Transport }) {
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
}

/** `ending` ends its side with closeWrite; `peer` reads the end, and can still answer. */
async function checkHalfClose(ending: Transport, peer: Transport) {
  await writeAll(ending, encoder.encode("last words"));
  await ending.closeWrite();
  const { bytes } = await readExactly(peer, 10, 64);
  assertEquals(decoder.decode(bytes), "last words");
  assertEquals(await withTimeout(peer.read(new Uint8Array(64)), "the end"), null);
  await writeAll(peer, encoder.encode("answer"));
  const answer = await readExactly(ending, 6, 64);
  assertEquals(decoder.decode(answer.bytes), "answer");
  await peer.closeWrite();
  assertEquals(await withTimeout(ending.read(new Uint8Array(64)), "the end"), null);
}

/** {@linkcode checkHalfClose} with the client ending first, then with the server. */
async function checkHalfCloses(options: { tls?: boolean } = {}) {
  await withPair(({ client, server }) => checkHalfClose(client, server), options);
  await withPair(({ client, server }) => checkHalfClose(server, client), options);
}

/** A TLS connection to `hostname`, trusting `caCerts`, fails against the test certificate. */
async function assertRefused(hostname: string, listenOn: string, caCerts?: string[]) {
  const listener = listen({ hostname: listenOn, port: 0 }, certificates);
  try {
    // Whatever the server's side hands out (Bun hands out before its handshake) is closed.
    listener.accept().then((transport) => transport.close(), () => {});
    const connecting = connect({ hostname, port: listener.addr.port }, { caCerts });
    const error = await assertRejects(() => withTimeout(connecting, "the refusal"));
    assert(!String(error).includes("timed out"), String(error));
  } finally {
    listener.close();
  }
}

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
    withPair(checkPausedReader),

  "a buffer rewritten as soon as its write resolves arrives as it was written, each time": () =>
    withPair(async ({ client, server }) => {
      // Just over Node's 16 KiB high-water mark: a write the kernel takes only part of may leave
      // less than that with the runtime, where a write that resolved early would still read it.
      const size = 17_000;
      const count = 2000;
      const buffer = new Uint8Array(size);
      const writing = (async () => {
        for (let i = 0; i < count; i++) {
          buffer.fill(i % 251);
          await writeAll(client, buffer);
        }
      })();
      // The kernel's buffers fill while nobody reads, so writes are left partly done.
      await delay(500);
      const { bytes } = await withTimeout(readExactly(server, size * count, 256 * 1024), "reading");
      await writing;
      const wrong = Array.from({ length: count }, (_, i) => i).filter((i) =>
        bytes.subarray(i * size, (i + 1) * size).some((byte) => byte !== i % 251)
      );
      assertEquals(wrong, []);
    }),

  "closeWrite sends FIN: the peer reads the end and can still answer, either way round": () =>
    checkHalfCloses(),

  "close ends both ways: the peer's waiting read gets the end, and a later write fails": () =>
    withPair(async ({ client, server }) => {
      const waiting = server.read(new Uint8Array(64));
      client.close();
      assertEquals(await withTimeout(waiting, "the waiting read"), null);
      await assertRejects(() => client.write(encoder.encode("too late")));
    }),

  "closeWrite after close settles at once, so that nothing waits on it for ever": () =>
    withPair(async ({ client }) => {
      client.close();
      const settled = client.closeWrite().then(() => "resolved", () => "rejected");
      assert(["resolved", "rejected"].includes(await withTimeout(settled, "closeWrite")));
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

  "listening on an address no interface here has throws ListenError AddrNotAvailable": () => {
    // 192.0.2.0/24 is for documentation (RFC 5737): no machine has it.
    const error = assertThrows(() => listen({ hostname: "192.0.2.1", port: 0 }), ListenError);
    assertEquals(error.failure, "AddrNotAvailable");
  },

  "listening on localhost takes connections on 127.0.0.1": async () => {
    const listener = listen({ hostname: "localhost", port: 0 });
    try {
      const client = await connect({ hostname: LOOPBACK, port: listener.addr.port });
      const server = await listener.accept();
      await writeAll(client, encoder.encode("by name"));
      assertEquals(decoder.decode((await readExactly(server, 7, 64)).bytes), "by name");
      client.close();
      server.close();
    } finally {
      listener.close();
    }
  },

  "listening on a name that does not resolve throws ListenError": () => {
    // RFC 6761 §6.4: names under .invalid never resolve.
    assertThrows(() => listen({ hostname: "nowhere.invalid", port: 0 }), ListenError);
  },

  "closing the listener rejects a waiting accept and refuses new connections": async () => {
    const listener = listen({ hostname: LOOPBACK, port: 0 });
    const accepting = listener.accept();
    listener.close();
    await assertRejects(() => withTimeout(accepting, "the waiting accept"));
    await assertRejects(() => connect({ hostname: LOOPBACK, port: listener.addr.port }));
  },

  "tls: a reader that stops pauses the socket, so the writer waits; all arrives once it reads":
    () => withPair(checkPausedReader, { tls: true }),

  "tls: closeWrite sends FIN: the peer reads the end and can still answer, either way round": () =>
    checkHalfCloses({ tls: true }),

  "tls: the client takes the certificate for 127.0.0.1, one of its names, as for localhost": () =>
    withPair(async ({ client, server }) => {
      await writeAll(server, encoder.encode("checked"));
      assertEquals(decoder.decode((await readExactly(client, 7, 64)).bytes), "checked");
    }, { tls: true, host: LOOPBACK }),

  "tls: the client refuses a certificate signed by a CA it does not trust": () =>
    assertRefused("localhost", LOOPBACK),

  "tls: the client refuses a certificate for another name than the one it connects to": () =>
    // The certificate is for localhost and 127.0.0.1; 127.0.0.2 is loopback too.
    assertRefused("127.0.0.2", "0.0.0.0", [certificates.ca]),
};

if (import.meta.main) {
  const [dir] = runtime.args();
  const read = (name: string) => runtime.readTextFile(`${dir}/${name}`);
  certificates = {
    cert: await read("cert.pem"),
    key: await read("key.pem"),
    ca: await read("ca.pem"),
  };
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
