/**
 * The frame decoder as a Web Streams `TransformStream`, for code that reads WebSocket bytes as a
 * stream. The server and the client do not use it: their read loops feed {@linkcode FrameParser}
 * each read directly, which costs no promise per frame.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { ProtocolError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import { FrameParser, type FrameParserOptions } from "./parser.ts";

/**
 * The frame decoder as a `TransformStream`: bytes in, frames out. It errors with the decoder's
 * {@linkcode ProtocolError}, or with a 1006 one when the bytes end inside a frame.
 *
 * @example Decode a server's frames from a TCP connection
 * ```ts ignore
 * import { FrameParserStream } from "./parser_stream.ts";
 * const conn = await Deno.connect({ port: 8000 });
 * for await (const frame of conn.readable.pipeThrough(new FrameParserStream({ role: "client" }))) {
 *   console.log(frame.opcode, frame.payload);
 * }
 * ```
 */
export class FrameParserStream extends TransformStream<Uint8Array, Frame> {
  /** Creates the stream around a new {@linkcode FrameParser}. */
  constructor(options: FrameParserOptions) {
    const parser = new FrameParser(options);
    super({
      transform(chunk, controller) {
        parser.push(chunk, (frame) => controller.enqueue(frame));
      },
      flush() {
        if (parser.midFrame) {
          throw new ProtocolError(CloseCode.AbnormalClosure, "the stream ended inside a frame");
        }
      },
    });
  }
}
