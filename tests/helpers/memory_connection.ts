/**
 * One connection run over an in-memory transport on a fake clock, with the raw peer at its other
 * end: the setting of the connection layer's tests, which drive keepalive, deadlines, flow
 * control and the close handshake to the millisecond without sockets and without sleeping.
 */

import { type WebSocketOptions, webSocketSettings } from "../../src/options.ts";
import type { HandlerOf } from "../../src/pump.ts";
import { type ConnectionSettings, WebSocketConnection } from "../../src/websocket.ts";
import { FakeClock } from "./fake_clock.ts";
import { frame } from "./frames.ts";
import { MemoryPeer, MemoryTransport } from "./memory_transport.ts";

/** How to set the connection up. */
export interface Setup extends WebSocketOptions {
  role?: "server" | "client";
  /** The handler; null for none (messages wait for `receive()`). @default an echo */
  handler?: HandlerOf<WebSocketConnection> | null;
  closeTimeoutMs?: number;
  /** Bytes the peer's end may have unread before the connection's writes wait. */
  capacity?: number;
  /** Whether the peer reads what it is sent. @default {true} */
  peerReads?: boolean;
}

/** A connection set up by {@linkcode open}, and what surrounds it. */
export interface Opened {
  clock: FakeClock;
  connection: WebSocketConnection;
  /** The raw peer at the other end. */
  peer: MemoryPeer;
  /** What `onError` heard. */
  errors: unknown[];
  /** The connection's run, which settles once its transport is closed. */
  ran: Promise<void>;
  /** The connection's end of the transport. */
  own: MemoryTransport;
  /** Sends a frame from the peer, masked as its role asks. */
  send(opcode: number, payload?: string | Uint8Array | number[]): Promise<void>;
}

/** A connection on a fake clock, the raw peer at the other end, and what `onError` heard. */
export function open(setup: Setup = {}): Opened {
  const clock = new FakeClock();
  const {
    role = "server",
    handler,
    closeTimeoutMs = 10_000,
    capacity,
    peerReads = true,
    ...options
  } = setup;
  const [own, other] = MemoryTransport.pair(capacity);
  const errors: unknown[] = [];
  const settings: ConnectionSettings = {
    role,
    maxMessageBytes: 1 << 20,
    closeTimeoutMs,
    ...webSocketSettings(options),
    handler: handler === null ? undefined : handler ?? ((message) => message),
    onError: (error) => errors.push(error),
    clock,
  };
  const connection = new WebSocketConnection(
    own,
    { url: new URL("ws://127.0.0.1/"), headers: new Headers() },
    settings,
  );
  const ran = connection.run(new Uint8Array(0));
  // The peer of a server is a client: it reads unmasked frames and sends masked ones.
  const peer = new MemoryPeer(other, role === "server" ? "client" : "server", {
    reading: peerReads,
  });
  const mask = role === "server" ? undefined : null;
  const send = (opcode: number, payload: string | Uint8Array | number[] = "") =>
    peer.write(frame(opcode, payload, { mask }));
  return { clock, connection, peer, errors, ran, own, send };
}
