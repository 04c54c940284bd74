import { assertEquals, assertThrows } from "@std/assert";
import { serverSettings } from "../src/serve_options.ts";

const echo = (message: string | Uint8Array) => message;

Deno.test("serve options: plain HTTP's defaults: 64 MiB bodies, 5 s of keep-alive, upgrades beside fetch", () => {
  const settings = serverSettings({}, echo);
  assertEquals(
    [settings.maxBodyBytes, settings.keepAliveTimeoutMs, settings.fetchUpgrades],
    [64 * 1024 * 1024, 5_000, false],
  );
});

Deno.test("serve options: without fetch, the test page answers; page false makes / a 404", async () => {
  const info = { remoteAddr: { hostname: "127.0.0.1", port: 1 }, upgrade: () => new Response() };
  const page = serverSettings({ page: "<p>x</p>" }, echo).fetch;
  assertEquals(await (await page(new Request("http://a/"), info)).text(), "<p>x</p>");
  const none = serverSettings({ page: false }, echo).fetch;
  assertEquals((await none(new Request("http://a/"), info)).status, 404);
});

for (const options of [{ maxBodyBytes: -1 }, { keepAliveTimeoutMs: -1 }, { maxBodyBytes: NaN }]) {
  Deno.test(`serve options: ${JSON.stringify(options)} is refused with a RangeError`, () => {
    assertThrows(() => serverSettings(options, echo), RangeError);
  });
}

Deno.test("serve options: a maxBodyBytes of 0 refuses every body; a keepAliveTimeoutMs of 0 waits for ever", () => {
  const settings = serverSettings({ maxBodyBytes: 0, keepAliveTimeoutMs: 0 }, echo);
  assertEquals([settings.maxBodyBytes, settings.keepAliveTimeoutMs], [0, 0]);
});
