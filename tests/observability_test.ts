import { assertEquals } from "@std/assert";
import type { CloseInfo } from "../mod.ts";
import { withTimeout } from "./helpers/client.ts";
import { closePayload, concat, frame } from "./helpers/frames.ts";
import { RawClient } from "./helpers/raw_client.ts";
import { startServer } from "./helpers/server.ts";

Deno.test("stats: connections, messages and bytes both ways, framing included, and onClose with how it ended", async () => {
  const closes: CloseInfo[] = [];
  const closed = Promise.withResolvers<void>();
  await using server = startServer({
    onClose: (_connection, info) => {
      closes.push(info);
      closed.resolve();
    },
  }, (message) => message);
  const before = server.server.stats;
  assertEquals(before, {
    connections: 0,
    connectionsOpened: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    topics: { published: 0, delivered: 0, dropped: 0 },
  });

  await using client = await RawClient.open(server.port);
  // Three masked frames of 2 + 4 + 3 bytes; three unmasked echoes of 2 + 3.
  await client.write(concat(frame(1, "abc"), frame(1, "def"), frame(1, "ghi")));
  assertEquals([await client.nextText(), await client.nextText(), await client.nextText()], [
    "abc",
    "def",
    "ghi",
  ]);
  assertEquals(server.server.stats, {
    connections: 1,
    connectionsOpened: 1,
    messagesIn: 3,
    messagesOut: 3,
    bytesIn: 27,
    bytesOut: 15,
    topics: { published: 0, delivered: 0, dropped: 0 },
  });

  // A close of 2 + 4 + 5 bytes, echoed in 2 + 5.
  await client.write(frame(8, closePayload(1000, "bye")));
  assertEquals((await client.ending()).close, { code: 1000, reason: "bye" });
  await withTimeout(closed.promise, "onClose");
  assertEquals(closes, [{ code: 1000, reason: "bye", wasClean: true }]);
  assertEquals(server.server.stats, {
    connections: 0,
    connectionsOpened: 1,
    messagesIn: 3,
    messagesOut: 3,
    bytesIn: 38,
    bytesOut: 22,
    topics: { published: 0, delivered: 0, dropped: 0 },
  });
});

Deno.test("stats: an onClose that throws is reported to onError, and the server goes on", async () => {
  const errors: unknown[] = [];
  const reported = Promise.withResolvers<void>();
  await using server = startServer({
    onClose: () => {
      throw new Error("onClose failed");
    },
    onError: (error) => {
      errors.push(error);
      reported.resolve();
    },
  }, (message) => message);
  for (let round = 0; round < 2; round++) {
    await using client = await RawClient.open(server.port);
    await client.write(frame(1, "hi"));
    assertEquals(await client.nextText(), "hi");
    await client.write(frame(8, closePayload(1000)));
    assertEquals((await client.ending()).close?.code, 1000);
  }
  await withTimeout(reported.promise, "the report");
  assertEquals((errors[0] as Error).message, "onClose failed");
  assertEquals(server.server.stats.connectionsOpened, 2);
});
