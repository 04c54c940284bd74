// This server's echo, for the soak test and the memory test of topics, on Deno (run with
// --v8-flags=--expose-gc) or Bun: on SIGUSR2 it collects garbage and prints "heap <bytes>", the
// live JavaScript heap. `ours_heap.ts <n>` subscribes each connection to n topics of 1,000 as it
// opens (connection i to topics i·n to i·n + n − 1, modulo 1,000, so each topic has
// connections·n / 1,000 subscribers); none by default.
import { serve } from "../../mod.ts";
import { runtime } from "../../src/runtime/mod.ts";

declare const Bun: { gc(force: boolean): void } | undefined;
declare const process: {
  on(signal: string, handler: () => void): void;
  memoryUsage(): { heapUsed: number };
};

const topicsPerConnection = Number(runtime.args()[0] ?? 0);
let opened = 0;
const server = serve({
  hostname: "127.0.0.1",
  port: 0,
  page: false,
  onOpen(connection) {
    const first = opened++ * topicsPerConnection;
    for (let k = 0; k < topicsPerConnection; k++) {
      connection.subscribe(`topic-${(first + k) % 1000}`);
    }
  },
}, (message) => message);
console.log(`ready ${server.addr.port}`);

const report = () => {
  if (typeof Bun !== "undefined") Bun.gc(true);
  else (globalThis as unknown as { gc(): void }).gc();
  console.log(`heap ${process.memoryUsage().heapUsed}`);
};
if (typeof Bun !== "undefined") process.on("SIGUSR2", report);
else Deno.addSignalListener("SIGUSR2", report);
