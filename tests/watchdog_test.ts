import { assertEquals } from "@std/assert";
import { sharedWatchdog, Watchdog, watchdogPeriod } from "../src/watchdog.ts";
import { FakeClock } from "./helpers/fake_clock.ts";

Deno.test("watchdog: checks every watched item each period, with the sweep's time", async () => {
  const clock = new FakeClock();
  const checks: [string, number][] = [];
  const watchdog = new Watchdog<string>(20, (item, now) => checks.push([item, now]), clock);
  watchdog.add("a");
  watchdog.add("b");
  await clock.advance(59);
  assertEquals(checks, [["a", 20], ["b", 20], ["a", 40], ["b", 40]]);
  watchdog.delete("a");
  await clock.advance(21);
  assertEquals(checks.slice(4), [["b", 60], ["b", 80]]);
  assertEquals(watchdog.now, 80);
  watchdog.delete("b");
});

Deno.test("watchdog: its timer runs only while something is watched", async () => {
  const clock = new FakeClock();
  let checks = 0;
  const watchdog = new Watchdog<number>(10, () => checks++, clock);
  assertEquals(clock.pending, 0);
  watchdog.add(1);
  assertEquals(clock.pending, 1);
  await clock.advance(35);
  watchdog.delete(1);
  assertEquals([checks, clock.pending], [3, 0]);
  // Deleting what is not watched changes nothing; adding again starts it again, from then.
  watchdog.delete(2);
  await clock.advance(100);
  watchdog.add(3);
  await clock.advance(10);
  assertEquals([checks, watchdog.now], [4, 145]);
  watchdog.delete(3);
  assertEquals(clock.pending, 0);
});

Deno.test("watchdog: a check that deletes the last item and adds another leaves one timer", async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const watchdog: Watchdog<string> = new Watchdog<string>(10, (item) => {
    seen.push(item);
    if (item !== "a") return;
    watchdog.delete("a");
    watchdog.add("b");
  }, clock);
  watchdog.add("a");
  await clock.advance(30);
  assertEquals([seen, clock.pending], [["a", "b", "b", "b"], 1]);
  watchdog.delete("b");
  assertEquals(clock.pending, 0);
});

Deno.test("watchdogPeriod: a tenth of the shortest deadline that is on, within 10 ms and 1 s", () => {
  assertEquals(watchdogPeriod([20_000, 20_000, 0, 10_000]), 1_000);
  assertEquals(watchdogPeriod([0, 5_000, 0]), 500);
  assertEquals(watchdogPeriod([50]), 10);
  assertEquals(watchdogPeriod([0, 0, 0]), null);
  // A deadline of Infinity never comes either.
  assertEquals(watchdogPeriod([Infinity, 0]), null);
});

Deno.test("sharedWatchdog: one per owner, made on first use; none when every deadline is off", () => {
  const owner = {};
  const first = sharedWatchdog<string>(owner, [20_000], () => {});
  assertEquals(sharedWatchdog<string>(owner, [100], () => {}), first);
  assertEquals(first === sharedWatchdog<string>({}, [20_000], () => {}), false);
  assertEquals(sharedWatchdog({}, [0, 0], () => {}), null);
});
