import { assertEquals } from "@std/assert";
import { concat } from "../helpers/frames.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";
import { cut, frameStream, Random } from "./inputs.ts";
import { fuzz } from "./run.ts";
import { FUZZ_MAX_MESSAGE_BYTES, runConnection } from "./targets.ts";

Deno.test("fuzz: 20,000 seeded inputs, whole and cut, break no rule of the protocol core", () => {
  assertEquals(fuzz(20261125, 20_000), null);
});

Deno.test("fuzz: 150 frame streams over TCP get exactly the replies and close code the core predicts", async () => {
  const errors: unknown[] = [];
  await using server = startServer(
    { maxMessageBytes: FUZZ_MAX_MESSAGE_BYTES, onError: (error) => errors.push(error) },
    (message) => message,
  );
  for (let seed = 1; seed <= 150; seed++) {
    const random = new Random(seed);
    const bytes = frameStream(random);
    const expected = runConnection([bytes]);
    await using client = await RawClient.open(server.port);
    client.conn.setNoDelay(true);
    try {
      await client.writePieces(cut(random, bytes), 0);
      // Whatever came before, the client's FIN ends it.
      await client.conn.closeWrite();
    } catch {
      // The server may already have closed after a violation; its replies are still readable.
    }
    const echoes: Uint8Array[] = [];
    let pongs = 0;
    let closeCode: number | null = null;
    for (let next = await client.nextFrame(); next !== null; next = await client.nextFrame()) {
      if (next.opcode === 0xa) pongs++;
      else if (next.opcode === 0x8) {
        closeCode = next.payload.length === 0 ? 1005 : (next.payload[0] << 8) | next.payload[1];
      } else echoes.push(concat(new Uint8Array([next.opcode]), next.payload));
    }
    const encoder = new TextEncoder();
    assertEquals(
      { echoes, pongs, closeCode },
      {
        echoes: expected.messages.map((message) =>
          typeof message === "string"
            ? concat(new Uint8Array([1]), encoder.encode(message))
            : concat(new Uint8Array([2]), message)
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
});
