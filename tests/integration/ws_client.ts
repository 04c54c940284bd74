/**
 * The `ws` npm package's client (one we did not write), run in the test's own process, as an
 * {@linkcode EchoSession}: messages queue up until a test takes them, every wait is bounded, and
 * `await using` ends the connection and waits for its close event.
 */

// @ts-types="@types/ws"
import WebSocket from "ws";
import type { Socket } from "node:net";
import { type ClientClose, type ClientMessage, withTimeout } from "../helpers/client.ts";
import type { EchoSession } from "./echo_client.ts";

/** How long opening, a collect or a close may take: generous, the machine may be busy. */
const WS_TIMEOUT_MS = 30_000;

/** A ws client as an echo session, with the ws socket itself for what a session does not cover. */
export interface WsSession extends EchoSession {
  readonly socket: WebSocket;
}

/**
 * Opens a ws client with `perMessageDeflate` (ws's default when undefined). The session's
 * `extensions` is the server's `Sec-WebSocket-Extensions` (ws's own `extensions` only names the
 * extensions agreed on), and it counts the bytes its TCP socket read.
 */
export async function openWs(
  url: string,
  perMessageDeflate?: WebSocket.ClientOptions["perMessageDeflate"],
): Promise<WsSession> {
  const socket = new WebSocket(url, { perMessageDeflate });
  const received: ClientMessage[] = [];
  let closeEvent: ClientClose | null = null;
  let onChange = () => {};
  socket.on("message", (data, isBinary) => {
    received.push(isBinary ? new Uint8Array(data as Uint8Array) : String(data));
    onChange();
  });
  const closed = new Promise<ClientClose>((resolve) => {
    socket.once("close", (code, reason) => {
      // RFC 6455 §7.1.5: ws reports 1006 when the connection ended without a close frame.
      closeEvent = { code, reason: String(reason), wasClean: code !== 1006 };
      resolve(closeEvent);
      onChange();
    });
  });
  let extensions = "";
  socket.once("upgrade", (response) => {
    extensions = response.headers["sec-websocket-extensions"] ?? "";
  });
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    }),
    `opening the ws client to ${url}`,
    WS_TIMEOUT_MS,
  );
  // ws keeps its net.Socket private; it is the one place that counts the bytes read.
  const tcp = (socket as unknown as { _socket: Socket })._socket;
  return {
    socket,
    extensions,
    send: (message) => socket.send(message, { binary: typeof message !== "string" }),
    collect: (count) =>
      withTimeout(
        new Promise((resolve, reject) => {
          onChange = () => {
            if (received.length < count && !closeEvent) return;
            onChange = () => {};
            if (received.length >= count) resolve(received.splice(0, count));
            else reject(new Error(`closed ${JSON.stringify(closeEvent)} with ${received.length}`));
          };
          onChange();
        }),
        `${count} messages from the server`,
        WS_TIMEOUT_MS,
      ),
    close(code, reason) {
      socket.close(code, reason);
      return withTimeout(closed, "the ws client's close", WS_TIMEOUT_MS);
    },
    bytesReceived: () => tcp.bytesRead,
    async [Symbol.asyncDispose]() {
      socket.terminate();
      await withTimeout(closed, "the ws client's close", WS_TIMEOUT_MS);
    },
  };
}
