import { assert, assertEquals } from "@std/assert";
import { type DeflateOptions, Opcode } from "../../mod.ts";
import { parseExtensions } from "../../src/protocol/extensions.ts";
import { RSV1 } from "../../src/protocol/frame.ts";
import { acceptDeflateResponse, deflateSettings } from "../../src/protocol/permessage_deflate.ts";
import { inflate } from "../helpers/deflate.ts";
import { parseResponseHead, RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";
import { cut, frameStream, type FrameStreamOptions, Random } from "./inputs.ts";
import { fuzz } from "./run.ts";
import { type ConnectionOutcome, FUZZ_MAX_MESSAGE_BYTES, runConnection } from "./targets.ts";

const decoder = new TextDecoder();

Deno.test("fuzz: 20,000 seeded inputs, whole and cut, break no rule of the protocol core", () => {
  assertEquals(fuzz(20261125, 20_000), null);
});

/**
 * What a raw client reads from the server until TCP ends: the echoed messages, compressed ones
 * inflated by zlib itself, all of them one stream as the server keeps its window; the pongs; and
 * the close code.
 */
async function readReplies(client: RawClient): Promise<ConnectionOutcome> {
  const outcome: ConnectionOutcome = { messages: [], pongs: 0, closeCode: null };
  const compressed: Uint8Array[] = [];
  let inflatedBytes = 0;
  for (let next = await client.nextFrame(); next !== null; next = await client.nextFrame()) {
    if (next.opcode === Opcode.Pong) outcome.pongs++;
    else if (next.opcode === Opcode.Close) {
      outcome.closeCode = next.payload.length === 0
        ? 1005
        : (next.payload[0] << 8) | next.payload[1];
    } else {
      let payload = next.payload;
      if ((next.rsv & RSV1) !== 0) {
        compressed.push(payload);
        const inflated = inflate(...compressed);
        payload = new Uint8Array(inflated.subarray(inflatedBytes));
        inflatedBytes = inflated.length;
      }
      assert(next.fin, "an echo in one frame");
      outcome.messages.push(next.opcode === Opcode.Text ? decoder.decode(payload) : payload);
    }
  }
  return outcome;
}

/** What a client of the server of `options` agreed, reading the 101 of its Chrome-like offer. */
function agreed(client: RawClient, options: DeflateOptions | undefined): FrameStreamOptions {
  const response = parseResponseHead(client.responseHead).headers.get("sec-websocket-extensions");
  assertEquals(response !== null, options !== undefined, "permessage-deflate agreed or not");
  if (response === null) return {};
  return {
    deflate: acceptDeflateResponse(parseExtensions(response), deflateSettings({}, "client")),
  };
}

/**
 * Sends the frame streams of `seeds`, cut as the fuzzer cuts them, each on a new connection to a
 * server that echoes, with permessage-deflate as `deflate` says, and checks the server's echoes,
 * pongs and close code against what the core predicts for the same bytes.
 */
async function replayOverTcp(seeds: number, deflate?: DeflateOptions): Promise<void> {
  const errors: unknown[] = [];
  await using server = startServer(
    { deflate, maxMessageBytes: FUZZ_MAX_MESSAGE_BYTES, onError: (error) => errors.push(error) },
    (message) => message,
  );
  const offer = deflate
    ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    : "";
  for (let seed = 1; seed <= seeds; seed++) {
    await using client = await RawClient.open(server.port, undefined, offer);
    const options = agreed(client, deflate);
    const random = new Random(seed);
    const { bytes } = frameStream(random, options);
    const expected = runConnection([bytes], options);
    client.conn.setNoDelay(true);
    try {
      await client.writePieces(cut(random, bytes), 0);
      // Whatever came before, the client's FIN ends it.
      await client.conn.closeWrite();
    } catch {
      // The server may already have closed after a violation; its replies are still readable.
    }
    const { messages, pongs, closeCode } = await readReplies(client);
    assertEquals(
      { messages, pongs, closeCode },
      {
        messages: expected.messages.map((message) =>
          typeof message === "string" ? message : new Uint8Array(message)
        ),
        // A violation stops the server from reading, so pings after it are not answered: the
        // core's count is of the pings before it, like the server's.
        pongs: expected.pongs,
        closeCode: expected.closeCode,
      },
      `seed ${seed}`,
    );
  }
  assertEquals(errors, []);
}

Deno.test("fuzz: 150 frame streams over TCP get exactly the replies and close code the core predicts", async () => {
  await replayOverTcp(150);
});

Deno.test("fuzz: 100 compressed frame streams over TCP, to a server with the defaults, get exactly the replies, inflated, and close code the core predicts", async () => {
  await replayOverTcp(100, { threshold: 0 });
});

Deno.test("fuzz: 100 compressed frame streams over TCP, to a server keeping its window and limiting windows, get exactly the replies, inflated, and close code the core predicts", async () => {
  await replayOverTcp(100, {
    threshold: 0,
    serverNoContextTakeover: false,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 11,
  });
});
