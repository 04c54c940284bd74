/**
 * The shape of the source itself: no module of `src/` imports itself through others, and each
 * stays about a screenful of concepts long.
 */

import { assertEquals } from "@std/assert";
import { IMPORT_MAP } from "./helpers/server.ts";

const ROOT = new URL("../", import.meta.url);
/** The most lines a file of `src/` may have: one concept a file keeps them near 400. */
const MAX_LINES = 420;
/** The entry points whose module graphs cover every file of `src/`. */
const ENTRY_POINTS = ["mod.ts", "src/pubsub/redis.ts"];

interface ModuleInfo {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/** The local imports (code and types alike) of every module reachable from `entry`. */
async function importGraph(entry: string): Promise<Map<string, string[]>> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--import-map=${IMPORT_MAP}`, entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`deno info ${entry} failed`);
  const { modules } = JSON.parse(new TextDecoder().decode(stdout)) as { modules: ModuleInfo[] };
  const graph = new Map<string, string[]>();
  for (const module of modules) {
    if (!module.specifier.startsWith(ROOT.href)) continue;
    const imports = (module.dependencies ?? []).flatMap((dependency) =>
      [dependency.code?.specifier, dependency.type?.specifier].filter((specifier) =>
        specifier?.startsWith(ROOT.href)
      ) as string[]
    );
    graph.set(module.specifier, [...new Set(imports)]);
  }
  return graph;
}

/** Every cycle of `graph`, each as the path that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string) => {
    const at = path.indexOf(module);
    if (at !== -1) return void found.push([...path.slice(at), module]);
    if (done.has(module)) return;
    path.push(module);
    for (const next of graph.get(module) ?? []) visit(next);
    path.pop();
    done.add(module);
  };
  for (const module of graph.keys()) visit(module);
  return found.map((cycle) => cycle.map((specifier) => specifier.slice(ROOT.href.length)));
}

Deno.test("source: no module imports itself through others", async () => {
  for (const entry of ENTRY_POINTS) assertEquals(cycles(await importGraph(entry)), [], entry);
});

Deno.test("source: a cycle is found where there is one", () => {
  const graph = new Map([[`${ROOT.href}a.ts`, [`${ROOT.href}b.ts`]], [`${ROOT.href}b.ts`, [
    `${ROOT.href}a.ts`,
  ]]]);
  assertEquals(cycles(graph), [["a.ts", "b.ts", "a.ts"]]);
});

Deno.test(`source: no file of src/ is over ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts")) {
        const lines = (await Deno.readTextFile(url)).split("\n").length - 1;
        if (lines > MAX_LINES) long.push(`${url.href.slice(ROOT.href.length)}: ${lines}`);
      }
    }
  };
  await walk(new URL("src/", ROOT));
  assertEquals(long, []);
});
