/**
 * A server with workers, for tests: `workers_server.ts <count>` serves on 127.0.0.1 and a free
 * port with that many copies; each connection is told which copy took it (`worker N`), joins the
 * topic "all", and each message it sends is published to "all", the sender included. SIGTERM
 * shuts every copy down. The primary prints the CLI's `Listening on` line once.
 */

import { serve, type Server } from "../../mod.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { workerSetup } from "../../src/workers.ts";

const setup = workerSetup();
const [count = "2"] = setup?.args ?? runtime.args();
const index = setup?.index ?? 0;
const server: Server = serve({
  hostname: "127.0.0.1",
  port: 0,
  workers: Number(count),
  onOpen: (connection) => {
    connection.subscribe("all");
    connection.send(`worker ${index}`);
  },
}, (message) => void server.publish("all", message));

if (setup === null) {
  await server.ready;
  console.log(`Listening on http://127.0.0.1:${server.addr.port}/`);
  const stop = runtime.onStopSignal(() => server.shutdown());
  await server.finished;
  stop();
  runtime.exit(0);
}
