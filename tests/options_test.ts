import { assertEquals, assertThrows } from "@std/assert";
import { webSocketSettings } from "../src/options.ts";

Deno.test("options: defaults are python-websockets' timings, 4 MiB and 16 messages of flow control", () => {
  assertEquals(webSocketSettings({}), {
    maxFrameBytes: Infinity,
    maxFragments: 65_536,
    maxQueuedMessages: 16,
    maxBufferedBytes: 4 * 1024 * 1024,
    slowConsumer: "close",
    slowConsumerGraceMs: 10_000,
    pingIntervalMs: 20_000,
    pingTimeoutMs: 20_000,
    idleTimeoutMs: 0,
  });
});

Deno.test("options: 0 turns a time off, Infinity lifts a limit", () => {
  const settings = webSocketSettings({
    pingIntervalMs: 0,
    pingTimeoutMs: 0,
    slowConsumerGraceMs: 0,
    maxFragments: Infinity,
    maxBufferedBytes: Infinity,
  });
  assertEquals(
    [settings.pingIntervalMs, settings.pingTimeoutMs, settings.slowConsumerGraceMs],
    [0, 0, 0],
  );
  assertEquals([settings.maxFragments, settings.maxBufferedBytes], [Infinity, Infinity]);
});

const badOptions = [
  { pingIntervalMs: -1 },
  { idleTimeoutMs: NaN },
  { maxFragments: 0 },
  { maxFrameBytes: 0 },
  { maxBufferedBytes: -5 },
  { maxQueuedMessages: -1 },
  { slowConsumer: "ignore" as "drop" },
];
for (const options of badOptions) {
  Deno.test(`options: ${JSON.stringify(options)} is refused with a RangeError`, () => {
    assertThrows(() => webSocketSettings(options), RangeError);
  });
}
