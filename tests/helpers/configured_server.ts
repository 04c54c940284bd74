/**
 * A server process with options the command line has no flags for, for tests that need one on
 * any runtime (run it with `scriptCommand`): `configured_server.ts <options as JSON> <behaviour>`
 * serves on 127.0.0.1 and a free port, prints `Listening on http://127.0.0.1:<port>/` as the CLI
 * does, then one JSON line per event ({@linkcode ServerEvent}).
 *
 * Behaviours:
 * - `echo`: every message back.
 * - `send-flood`: from `onOpen`, numbered 64 KiB binary messages through `connection.send()`,
 *   never awaited, as fast as the loop goes (it yields to the event loop every 64), until the
 *   connection is no longer open.
 * - `reply-flood`: a message `flood` is answered by a generator that yields numbered 64 KiB
 *   binary messages for ever; anything else is echoed.
 * - `slow-handler`: every message takes the handler 100 ms, and gets no reply.
 */

import {
  type Handler,
  type Message,
  serve,
  type ServeOptions,
  type WebSocketConnection,
} from "../../mod.ts";
import { runtime } from "../../src/runtime/mod.ts";

/** What the process prints, one JSON object a line, after its `Listening on` line. */
export type ServerEvent =
  | { event: "error"; name: string; message: string }
  | {
    event: "closed";
    code: number;
    reason: string;
    wasClean: boolean;
    error?: string;
  }
  | { event: "flood-ended"; sent: number; dropped: number };

/** The size of a flood's messages; the first 4 bytes of each are its number, big-endian. */
export const FLOOD_MESSAGE_BYTES = 64 * 1024;

/** What the server does with its connections; see the top of this file. */
export type Behaviour = "echo" | "send-flood" | "reply-flood" | "slow-handler";

function print(event: ServerEvent): void {
  console.log(JSON.stringify(event));
}

/** One buffer, renumbered before each send: a send copies a message of this size. */
function numberedMessages(): (index: number) => Uint8Array {
  const message = new Uint8Array(FLOOD_MESSAGE_BYTES);
  const view = new DataView(message.buffer);
  return (index) => {
    view.setUint32(0, index);
    return message;
  };
}

async function sendFlood(connection: WebSocketConnection): Promise<void> {
  const numbered = numberedMessages();
  let sent = 0;
  let dropped = 0;
  const countDrop = (error: Error) => {
    if (error.name === "SlowConsumerError") dropped++;
  };
  while (connection.state === "open") {
    connection.send(numbered(sent++)).catch(countDrop);
    if (sent % 64 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  print({ event: "flood-ended", sent, dropped });
}

function* replyFlood(): Generator<Message> {
  const numbered = numberedMessages();
  for (let index = 0;; index++) yield numbered(index);
}

const handlers: Record<Behaviour, Handler> = {
  "echo": (message) => message,
  "send-flood": (message) => message,
  "reply-flood": (message) => message === "flood" ? replyFlood() : message,
  "slow-handler": () => new Promise<void>((resolve) => setTimeout(resolve, 100)),
};

if (import.meta.main) main();

function main(): void {
  const [optionsJson = "{}", behaviour = "echo"] = runtime.args();
  const options: ServeOptions = JSON.parse(optionsJson);
  const server = serve(
    {
      ...options,
      hostname: "127.0.0.1",
      port: 0,
      onOpen(connection) {
        connection.closed.then((info) =>
          print({
            event: "closed",
            code: info.code,
            reason: info.reason,
            wasClean: info.wasClean,
            error: info.error?.name,
          })
        );
        if (behaviour === "send-flood") sendFlood(connection);
      },
      onError: (error) =>
        print({
          event: "error",
          name: (error as Error).name,
          message: (error as Error).message,
        }),
    },
    handlers[behaviour as Behaviour],
  );
  console.log(`Listening on http://127.0.0.1:${server.addr.port}/`);
}
