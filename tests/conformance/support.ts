/**
 * What the conformance files share: a raw client on the CLI echo server, and strict checks of
 * what the server sends back — the exact bytes of each reply frame, the close code, and the end
 * of TCP, with nothing else in between.
 *
 * The replies are compared with frames built by `tests/helpers/frames.ts` (unmasked, as a server
 * sends them), so a reply is checked byte for byte and not through the library's own parser.
 */

import { assertEquals, AssertionError } from "@std/assert";
import { type Frame, Opcode } from "../../mod.ts";
import { bytewise, chunks, closePayload, concat, frame } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";

/** How long a reply may take on loopback before a check fails. */
export const REPLY_TIMEOUT_MS = 2000;

/**
 * Opens a WebSocket to the server on `port`; `firstBytes` go in the same write as the request.
 * Nagle's algorithm is off, so that pieces written apart also travel apart.
 */
export async function openClient(
  port: number,
  firstBytes: Uint8Array = new Uint8Array(),
): Promise<RawClient> {
  const client = await RawClient.open(port, firstBytes);
  client.conn.setNoDelay(true);
  return client;
}

/** The frame a server sends: final, no reserved bits, unmasked, shortest length encoding. */
export function serverFrame(
  opcode: number,
  payload: string | Uint8Array | number[] = new Uint8Array(),
): Uint8Array {
  return frame(opcode, payload, { mask: null });
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** Asserts two byte arrays are equal; on a difference, shows where, not megabytes of diff. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  if (at === actual.length && at === expected.length) return;
  const from = Math.max(0, at - 8);
  throw new AssertionError(
    `${what}: ${actual.length} bytes instead of ${expected.length}, first difference at byte ` +
      `${at}\n  got:      …${hex(actual.subarray(from, at + 8))}\n` +
      `  expected: …${hex(expected.subarray(from, at + 8))}`,
  );
}

/**
 * Runs `read`, closing the client's TCP connection if it takes longer than
 * {@linkcode REPLY_TIMEOUT_MS}; says whether that happened. A read that fails because of that
 * close counts as the timeout, not as an error.
 */
export async function readWithin<T>(
  client: RawClient,
  read: () => Promise<T>,
): Promise<{ result: T | undefined; timedOut: boolean }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    client.close();
  }, REPLY_TIMEOUT_MS);
  try {
    const result = await read();
    return { result, timedOut };
  } catch (error) {
    if (!timedOut) throw error;
    return { result: undefined, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads exactly `expected.length` bytes from the server and asserts they are `expected`. It reads
 * the TCP connection directly, so it must come before any frame-level read of the same client.
 */
export async function expectBytes(
  client: RawClient,
  expected: Uint8Array,
  what = "reply",
): Promise<void> {
  const received = new Uint8Array(expected.length);
  let filled = 0;
  const { timedOut } = await readWithin(client, async () => {
    while (filled < received.length) {
      const count = await client.conn.read(received.subarray(filled));
      if (count === null) break;
      filled += count;
    }
  });
  const ending = timedOut
    ? ` (nothing more within ${REPLY_TIMEOUT_MS} ms)`
    : filled < expected.length
    ? " (then TCP ended)"
    : "";
  assertBytes(received.subarray(0, filled), expected, what + ending);
}

/** Asserts the server's next frame is `payload` echoed as one final frame of `opcode`. */
export function expectEcho(
  client: RawClient,
  opcode: number,
  payload: string | Uint8Array | number[],
): Promise<void> {
  return expectBytes(client, serverFrame(opcode, payload), `echo of opcode ${opcode}`);
}

/** Asserts the server's next frame is a pong carrying `payload`. */
export function expectPong(
  client: RawClient,
  payload: string | Uint8Array | number[] = new Uint8Array(),
): Promise<void> {
  return expectBytes(client, serverFrame(Opcode.Pong, payload), "pong");
}

/**
 * The server's next frame; null once TCP has ended (a reset counts, as in `RawClient.ending()`);
 * "silence" when nothing came within {@linkcode REPLY_TIMEOUT_MS}.
 */
async function nextFrame(client: RawClient): Promise<Frame | null | "silence"> {
  try {
    return await client.nextFrame(REPLY_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("no frame")) return "silence";
    return null;
  }
}

/**
 * Asserts the server ends TCP with no frame at all after its close frame (RFC 6455 §5.5.1: no
 * data after a close). Unlike `RawClient.ending()`, which skips data frames, any frame fails.
 */
export async function expectTcpEnd(client: RawClient): Promise<void> {
  const next = await nextFrame(client);
  if (next === "silence") {
    throw new AssertionError(
      `the server did not end TCP within ${REPLY_TIMEOUT_MS} ms of its close frame`,
    );
  }
  if (next !== null) {
    throw new AssertionError(`a frame of opcode ${next.opcode} came after the close frame`);
  }
}

/** The code of a close frame's payload: 1005 for an empty payload, as a client reports it. */
function closeCodeOf(payload: Uint8Array): number {
  if (payload.length === 0) return 1005;
  if (payload.length === 1) return -1;
  return (payload[0] << 8) | payload[1];
}

/**
 * Asserts the server's next frame is a close with `code` — no pong or data frame before it —
 * and that TCP then ends. For closes whose reason the server chooses (protocol violations).
 */
export async function expectClose(client: RawClient, code: number): Promise<void> {
  const next = await nextFrame(client);
  if (next === "silence") {
    throw new AssertionError(`no close frame within ${REPLY_TIMEOUT_MS} ms (expected ${code})`);
  }
  if (next === null) {
    throw new AssertionError(`TCP ended without a close frame (expected ${code})`);
  }
  assertEquals(next.opcode, Opcode.Close, `opcode ${next.opcode} came instead of a close ${code}`);
  assertEquals(closeCodeOf(next.payload), code, "close code");
  await expectTcpEnd(client);
}

/** Asserts the server's next frame is a close carrying exactly `payload`, then that TCP ends. */
export async function expectCloseEcho(client: RawClient, payload: Uint8Array): Promise<void> {
  await expectBytes(client, serverFrame(Opcode.Close, payload), "close frame");
  await expectTcpEnd(client);
}

/** Closes from the client side with 1000 and asserts the echo and the end of TCP. */
export async function closeHandshake(client: RawClient): Promise<void> {
  const payload = closePayload(1000, "done");
  await client.write(frame(Opcode.Close, payload));
  await expectCloseEcho(client, payload);
}

/**
 * How a client's frames are written: all together, one write per frame, one per byte, or in
 * pieces of a given number of bytes.
 */
export type Chops = "one write" | "frame by frame" | "byte by byte" | number;

/** The writes that deliver `frames` as `chops` says. */
export function piecesOf(frames: Uint8Array[], chops: Chops): Uint8Array[] {
  if (chops === "frame by frame") return frames;
  const bytes = concat(...frames);
  if (chops === "one write") return [bytes];
  return chops === "byte by byte" ? bytewise(bytes) : chunks(bytes, chops);
}

/** One conversation with the server, from the first frame to the end of TCP. */
export interface Exchange {
  /** The client's frames, in order. */
  send: Uint8Array[];
  /** How they are written. @default {"one write"} */
  chops?: Chops;
  /** What the server must send back, exactly and in order (see {@linkcode serverFrame}). */
  replies?: Uint8Array[];
  /** The code the server must then close with, the reason being its own choice. */
  closeCode?: number;
  /**
   * The payload of the close frame the server must send when `send` holds the client's close:
   * the echo of it. Without `closeCode` or `closeEcho`, the client closes with 1000 after the
   * replies and the server must echo that.
   */
  closeEcho?: Uint8Array;
}

/** Runs an {@linkcode Exchange} on a new connection to `port`. */
export async function exchange(port: number, expected: Exchange): Promise<void> {
  const { send, chops = "one write", replies = [], closeCode, closeEcho } = expected;
  await using client = await openClient(port);
  await client.writePieces(piecesOf(send, chops), 1);
  for (const [index, reply] of replies.entries()) {
    await expectBytes(client, reply, `reply ${index + 1} of ${replies.length}`);
  }
  if (closeCode !== undefined) await expectClose(client, closeCode);
  else if (closeEcho !== undefined) await expectCloseEcho(client, closeEcho);
  else await closeHandshake(client);
}
