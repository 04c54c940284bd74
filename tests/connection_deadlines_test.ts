import { assertEquals } from "@std/assert";
import {
  ConnectionDeadlines,
  type DeadlineSettings,
  type DeadlineState,
} from "../src/connection_deadlines.ts";

const SETTINGS: DeadlineSettings = {
  pingIntervalMs: 20_000,
  pingTimeoutMs: 20_000,
  idleTimeoutMs: 0,
  slowConsumerGraceMs: 10_000,
  closeTimeoutMs: 10_000,
};
const OPEN: DeadlineState = {
  state: "open",
  awaitingPong: false,
  overLimitSince: null,
  readingHeld: false,
  handlerBusy: false,
};

Deno.test("deadlines: a ping is due once nothing was heard for the interval, counted from the last ping too", () => {
  const deadlines = new ConnectionDeadlines(SETTINGS, 0);
  deadlines.heard(5_000);
  assertEquals(deadlines.check(24_999, OPEN), null);
  assertEquals(deadlines.check(25_000, OPEN), "ping");
  deadlines.pinged(25_000);
  // With pongs not waited for, the next ping comes an interval after the last.
  const noTimeout = new ConnectionDeadlines({ ...SETTINGS, pingTimeoutMs: 0 }, 0);
  noTimeout.pinged(20_000);
  const waiting = { ...OPEN, awaitingPong: true };
  assertEquals(noTimeout.check(39_999, waiting), null);
  assertEquals(noTimeout.check(40_000, waiting), "ping");
});

Deno.test("deadlines: a pong later than pingTimeoutMs fails; none is waited for while reading is held", () => {
  const deadlines = new ConnectionDeadlines(SETTINGS, 0);
  deadlines.pinged(20_000);
  const waiting = { ...OPEN, awaitingPong: true };
  assertEquals(deadlines.check(39_999, waiting), null);
  assertEquals(deadlines.check(40_000, waiting), "keepalive timeout");
  assertEquals(deadlines.check(90_000, { ...waiting, readingHeld: true }), null);
  deadlines.resumed(90_000);
  assertEquals(deadlines.check(100_000, waiting), null);
  assertEquals(deadlines.check(110_000, waiting), "keepalive timeout");
});

Deno.test("deadlines: idle once no message went either way for idleTimeoutMs, unless the handler is busy", () => {
  const deadlines = new ConnectionDeadlines({
    ...SETTINGS,
    idleTimeoutMs: 60_000,
    pingIntervalMs: 0,
  }, 0);
  deadlines.active(30_000);
  assertEquals(deadlines.check(89_999, OPEN), null);
  assertEquals(deadlines.check(90_000, { ...OPEN, handlerBusy: true }), null);
  assertEquals(deadlines.check(90_000, OPEN), "idle");
});

Deno.test("deadlines: a slow consumer's grace runs from when the queue went over, even while reading is held", () => {
  const deadlines = new ConnectionDeadlines(SETTINGS, 0);
  const over = { ...OPEN, overLimitSince: 1_000, readingHeld: true };
  assertEquals(deadlines.check(10_999, over), null);
  assertEquals(deadlines.check(11_000, over), "slow consumer");
  const noGrace = new ConnectionDeadlines({ ...SETTINGS, slowConsumerGraceMs: 0 }, 0);
  assertEquals(noGrace.check(1e9, over), null);
});

Deno.test("deadlines: once closing, only the close timeout counts, from when closing first began", () => {
  const deadlines = new ConnectionDeadlines({ ...SETTINGS, idleTimeoutMs: 1 }, 0);
  const closing = { ...OPEN, state: "closing" as const, overLimitSince: 0, awaitingPong: true };
  deadlines.closing(5_000);
  deadlines.closing(8_000);
  assertEquals(deadlines.check(14_999, closing), null);
  assertEquals(deadlines.check(15_000, closing), "close timeout");
  assertEquals(deadlines.check(15_000, { ...closing, state: "closed" }), null);
  const forever = new ConnectionDeadlines({ ...SETTINGS, closeTimeoutMs: 0 }, 0);
  forever.closing(0);
  assertEquals(forever.check(1e9, closing), null);
});

Deno.test("deadlines: what is most pressing comes first: slow consumer, pong, idle, ping", () => {
  const deadlines = new ConnectionDeadlines({ ...SETTINGS, idleTimeoutMs: 1_000 }, 0);
  const all = { ...OPEN, awaitingPong: true, overLimitSince: 0 };
  assertEquals(deadlines.check(100_000, all), "slow consumer");
  assertEquals(deadlines.check(100_000, { ...all, overLimitSince: null }), "keepalive timeout");
  assertEquals(deadlines.check(100_000, OPEN), "idle");
});
