import { assertEquals, assertRejects } from "@std/assert";
import { Deadline } from "../src/deadline.ts";
import { FakeClock } from "./helpers/fake_clock.ts";

Deno.test("deadline: a step that wins the race settles as it does, and clear() stops the clock", async () => {
  const clock = new FakeClock();
  const deadline = new Deadline(1000, () => new Error("late"), clock);
  assertEquals(await deadline.race(Promise.resolve(7)), 7);
  await assertRejects(() => deadline.race(Promise.reject(new TypeError("own"))), TypeError);
  deadline.clear();
  assertEquals(clock.pending, 0);
});

Deno.test("deadline: once the time is up, expired and every race reject with its reason", async () => {
  const clock = new FakeClock();
  const deadline = new Deadline(1000, () => new Error("too slow"), clock);
  const racing = assertRejects(() => deadline.race(new Promise(() => {})), Error, "too slow");
  await clock.advance(999);
  let expired = false;
  deadline.expired.catch(() => expired = true);
  await clock.advance(0);
  assertEquals(expired, false);
  await clock.advance(1);
  await racing;
  await assertRejects(() => deadline.expired, Error, "too slow");
});

Deno.test("deadline: cut() ends it at once with its own reason; 0 never comes by itself", async () => {
  const clock = new FakeClock();
  const never = new Deadline(0, () => new Error("never"), clock);
  assertEquals(clock.pending, 0);
  never.cut(new Error("shutting down"));
  await assertRejects(() => never.expired, Error, "shutting down");
});
