import { assertEquals } from "@std/assert";
import { Queue } from "../src/queue.ts";

Deno.test("queue: items come out first in, first out, however pushes and shifts interleave", () => {
  const queue = new Queue<number>();
  const out: number[] = [];
  let next = 0;
  for (let round = 0; round < 5000; round++) {
    queue.push(next++);
    if (round % 3 !== 0) queue.push(next++);
    out.push(queue.shift()!);
  }
  while (queue.length > 0) out.push(queue.shift()!);
  assertEquals(out, Array.from({ length: next }, (_, i) => i));
  assertEquals([queue.shift(), queue.peek(), queue.length], [undefined, undefined, 0]);
});

Deno.test("queue: peek, replaceFront and drain", () => {
  const queue = new Queue<string>();
  queue.push("a");
  queue.push("b");
  assertEquals(queue.peek(), "a");
  queue.replaceFront("A");
  assertEquals(queue.drain(), ["A", "b"]);
  assertEquals(queue.length, 0);
});
