import { assert, assertEquals } from "@std/assert";
import { Watchdog, watchdogPeriod } from "../src/watchdog.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("watchdog: checks every watched item each period, with the sweep's time", async () => {
  const checks: [string, number][] = [];
  const watchdog = new Watchdog<string>(20, (item, now) => checks.push([item, now]));
  watchdog.add("a");
  watchdog.add("b");
  await delay(110);
  watchdog.delete("a");
  const checksOfA = checks.filter(([item]) => item === "a").length;
  await delay(60);
  watchdog.delete("b");
  assert(checksOfA >= 3 && checksOfA <= 6, `${checksOfA} checks of a in 110 ms`);
  // Nothing of a after it was deleted; b went on.
  assertEquals(checks.filter(([item]) => item === "a").length, checksOfA);
  assert(checks.filter(([item]) => item === "b").length > checksOfA);
  // Each sweep hands every item the same time, which is the clock's.
  const last = checks[checks.length - 1][1];
  assertEquals(watchdog.now, last);
});

Deno.test("watchdog: the interval runs only while something is watched", async () => {
  let checks = 0;
  const watchdog = new Watchdog<number>(10, () => checks++);
  watchdog.add(1);
  await delay(35);
  watchdog.delete(1);
  const afterDelete = checks;
  await delay(35);
  // Deleting what is not watched changes nothing; adding again starts it again.
  watchdog.delete(2);
  assertEquals(checks, afterDelete);
  watchdog.add(3);
  await delay(35);
  watchdog.delete(3);
  assert(checks > afterDelete);
  // The test's sanitizer fails it if an interval is left running.
});

Deno.test("watchdogPeriod: a tenth of the shortest deadline that is on, within 10 ms and 1 s", () => {
  assertEquals(watchdogPeriod([20_000, 20_000, 0, 10_000]), 1_000);
  assertEquals(watchdogPeriod([0, 5_000, 0]), 500);
  assertEquals(watchdogPeriod([50]), 10);
  assertEquals(watchdogPeriod([0, 0, 0]), null);
  // A deadline of Infinity never comes either.
  assertEquals(watchdogPeriod([Infinity, 0]), null);
});
