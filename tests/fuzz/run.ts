/**
 * `deno task fuzz`: throws seeded random inputs at the protocol core, in process, and stops at the
 * first one that breaks a rule, printing its seed; `--seed <it> --inputs 1` replays it. The inputs
 * are request heads and frame streams, a third of those on connections with permessage-deflate.
 *
 * Options: --inputs N (1000000), --seed S (a random one, printed).
 */

import { deflateParameters, Random } from "./inputs.ts";
import { fuzzFrames, fuzzRequestHead } from "./targets.ts";

/**
 * Runs one input; one seed in eight is a request head, the rest frame streams, with
 * permessage-deflate agreed for seeds that are multiples of 3.
 */
export function fuzzOne(seed: number): void {
  const random = new Random(seed);
  if (seed % 8 === 0) fuzzRequestHead(random);
  else fuzzFrames(random, seed % 3 === 0 ? { deflate: deflateParameters(random) } : {});
}

/** Runs `count` inputs from `seed` on; returns the seed of the first that failed, or null. */
export function fuzz(seed: number, count: number): number | null {
  for (let i = 0; i < count; i++) {
    const inputSeed = (seed + i) >>> 0;
    try {
      fuzzOne(inputSeed);
    } catch (error) {
      console.error(`input ${inputSeed} failed:`, error);
      return inputSeed;
    }
  }
  return null;
}

if (import.meta.main) {
  const option = (name: string, fallback: number) => {
    const at = Deno.args.indexOf(name);
    return at === -1 ? fallback : Number(Deno.args[at + 1]);
  };
  const inputs = option("--inputs", 1_000_000);
  const seed = option("--seed", Math.floor(Math.random() * 2 ** 32));
  console.log(`fuzzing ${inputs} inputs from seed ${seed}`);
  const started = performance.now();
  const batch = 50_000;
  let failed: number | null = null;
  for (let done = 0; done < inputs && failed === null; done += batch) {
    failed = fuzz(seed + done, Math.min(batch, inputs - done));
    const seconds = (performance.now() - started) / 1000;
    console.log(`${Math.min(done + batch, inputs)} inputs, ${seconds.toFixed(1)} s`);
  }
  if (failed !== null) {
    console.log(`FAILED: replay with --seed ${failed} --inputs 1`);
    Deno.exit(1);
  }
  console.log(`${inputs} inputs, 0 failures`);
}
