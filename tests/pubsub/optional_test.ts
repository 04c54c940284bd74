/**
 * Redis is optional: the module graph of the server's entry point, and of the pub/sub seam with
 * `localPubSub`, holds no Redis client; only `redisPubSub`'s own entry point does.
 */

import { assertEquals } from "@std/assert";
import { IMPORT_MAP } from "../helpers/server.ts";

const ROOT = new URL("../../", import.meta.url);

/** The specifiers of every module `entry` loads statically, as `deno info` finds them. */
async function moduleGraph(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--import-map=${IMPORT_MAP}`, new URL(entry, ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(stdout));
  return modules.map(({ specifier }: { specifier: string }) => specifier);
}

/** The Redis packages among `specifiers`, without their versions. */
const redisClient = (specifiers: string[]) =>
  specifiers.filter((it) => it.includes("@redis/")).map((it) => it.replace(/@[^@/]+$/, ""));

Deno.test("pubsub: mod.ts and src/pubsub/mod.ts load no Redis code; ./redis loads @redis/client", async () => {
  assertEquals(redisClient(await moduleGraph("mod.ts")), []);
  assertEquals(redisClient(await moduleGraph("src/pubsub/mod.ts")), []);
  assertEquals(redisClient(await moduleGraph("src/pubsub/redis.ts")), ["npm:/@redis/client"]);
});
