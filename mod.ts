/**
 * A WebSocket server (RFC 6455) whose every byte of protocol is its own: the HTTP upgrade, the
 * frame parser, message assembly and the close handshake, over plain TCP; and a client on the
 * same core.
 *
 * Run it: `deno run --allow-net mod.ts`, `bun mod.ts` or `node mod.ts` serves an echo handler and
 * a test page on port 8000.
 *
 * @example Serve a handler
 * ```ts ignore
 * import { serve } from "jsr:@wsd/server";
 * serve({ port: 8000 }, (message, connection) => {
 *   console.log(`${connection.remoteAddr.hostname} says`, message);
 *   return typeof message === "string" ? message.toUpperCase() : message;
 * });
 * ```
 *
 * @example Connect as a client
 * ```ts ignore
 * import { connect } from "jsr:@wsd/server";
 * const connection = await connect("ws://127.0.0.1:8000/");
 * await connection.send("hello");
 * console.log(await connection.receive());
 * await connection.close();
 * ```
 *
 * @module
 */

export { serve } from "./src/server.ts";
export type { ServeOptions, Server, ServerStats } from "./src/server.ts";
export type { Traffic } from "./src/traffic.ts";
export type { PublishOptions, TopicStats } from "./src/topics.ts";
export { type WorkerSetup, workerSetup } from "./src/workers.ts";
export * from "./src/pubsub/mod.ts";
export { connect, type ConnectOptions } from "./src/client.ts";
export {
  type WebSocketCloseInfo,
  type WebSocketOpenInfo,
  WebSocketStream,
  type WebSocketStreamOptions,
} from "./src/websocket_stream.ts";
export type { FetchHandler, FetchInfo } from "./src/fetch_handler.ts";
export type { DeflateOption } from "./src/compression.ts";
export type { DeflateOptions } from "./src/protocol/permessage_deflate.ts";
export type { SlowConsumerPolicy, WebSocketOptions } from "./src/options.ts";
export { WebSocketConnection } from "./src/websocket.ts";
export type { Handler, Reply, StreamHandler, UpgradeRequest } from "./src/websocket.ts";
export type { PendingUpgrade, UpgradeAcceptance, UpgradeHook } from "./src/upgrade.ts";
export { allowOrigins, type AllowOriginsOptions } from "./src/origin.ts";
export { ListenError, type ListenFailure } from "./src/transport.ts";
export type { Listener, NetAddress, ReadTarget, Transport } from "./src/transport.ts";
export { TEST_PAGE } from "./src/page.ts";
export { CloseCode } from "./src/protocol/close_code.ts";
export type { CloseFrame, CloseInfo, ConnectionState } from "./src/protocol/close.ts";
export {
  ConnectionClosedError,
  type ConnectionFailure,
  HandshakeError,
  KeepaliveTimeoutError,
  ProtocolError,
  SlowConsumerError,
  UpgradeFailedError,
  WebSocketError,
  type WebSocketErrorInit,
} from "./src/protocol/errors.ts";
export {
  encodeFrame,
  type EncodeFrameOptions,
  type Frame,
  type FrameSink,
  Opcode,
  writeFrame,
  writeTextFrame,
} from "./src/protocol/frame.ts";
export { FrameParser, type FrameParserOptions, type PartialFrame } from "./src/protocol/parser.ts";
export { FrameParserStream } from "./src/protocol/parser_stream.ts";
export { computeAcceptKey } from "./src/protocol/handshake.ts";
export { Protocol, type ProtocolOptions, type ProtocolOutput } from "./src/protocol/protocol.ts";
export type { Extension } from "./src/protocol/extension.ts";
export { PreparedMessage } from "./src/protocol/prepared_message.ts";
export type { Message } from "./src/protocol/message.ts";

import { main } from "./src/cli.ts";
import { runtime } from "./src/runtime/mod.ts";
import { workerSetup } from "./src/workers.ts";

// A worker the server started (`--workers`) runs the program's main module again; when that is
// this one, it serves, and leaves the process's exit to the primary. (Bun reports
// import.meta.main false in a worker.)
const setup = workerSetup();
if (setup) {
  if (setup.mainModule === import.meta.url) await main(setup.args);
} else if (import.meta.main) runtime.exit(await main(runtime.args()));
