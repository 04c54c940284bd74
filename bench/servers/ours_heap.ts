// This server's echo, for the soak test, on Deno (run with --v8-flags=--expose-gc) or Bun: on
// SIGUSR2 it collects garbage and prints "heap <bytes>", the live JavaScript heap.
import { serve } from "../../mod.ts";

declare const Bun: { gc(force: boolean): void } | undefined;
declare const process: {
  on(signal: string, handler: () => void): void;
  memoryUsage(): { heapUsed: number };
};

const server = serve({ hostname: "127.0.0.1", port: 0, page: false }, (message) => message);
console.log(`ready ${server.addr.port}`);

const report = () => {
  if (typeof Bun !== "undefined") Bun.gc(true);
  else (globalThis as unknown as { gc(): void }).gc();
  console.log(`heap ${process.memoryUsage().heapUsed}`);
};
if (typeof Bun !== "undefined") process.on("SIGUSR2", report);
else Deno.addSignalListener("SIGUSR2", report);
