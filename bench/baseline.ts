/**
 * `deno task bench --baseline <rev>`: this server at an older revision, checked out beside this
 * one with `git worktree add`, so that both run in the same benchmark on the same machine state.
 */

import { ROOT, run } from "./support.ts";

/** A revision checked out into a temporary directory, until `remove()`. */
export interface Baseline {
  /** The checkout's root, ending in `/`. */
  root: string;
  /** The revision's abbreviated commit id. */
  shortRev: string;
  /** The revision's one-line summary. */
  subject: string;
  /** Removes the checkout and its worktree entry. */
  remove(): Promise<void>;
}

/**
 * Checks out `rev` with `git worktree add --detach` into a temporary directory, and gives it this
 * checkout's `tests/node_modules` (a symlink), from which its server under Bun takes `@std`.
 * `remove()` takes the checkout away; so does SIGINT or SIGTERM before it, so that an interrupted
 * run leaves no worktree behind.
 */
export async function checkoutBaseline(rev: string): Promise<Baseline> {
  const git = (...args: string[]) => run(["git", ...args], { cwd: ROOT });
  const [shortRev, subject] = (await git("log", "-1", "--format=%h%n%s", `${rev}^{commit}`))
    .trim().split("\n");
  const root = await Deno.makeTempDir({ prefix: `wsd-bench-${shortRev}-` });
  // A process that a signal ended exits with 128 and the signal's number.
  const listeners = ([["SIGINT", 130], ["SIGTERM", 143]] as const).map(([signal, status]) =>
    [signal, () => remove().finally(() => Deno.exit(status))] as const
  );
  const remove = async () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    try {
      await git("worktree", "remove", "--force", root);
    } finally {
      // Still there when `worktree add` failed; gone otherwise.
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  };
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);
  try {
    await git("worktree", "add", "--detach", root, rev);
    await Deno.symlink(`${ROOT}tests/node_modules`, `${root}/tests/node_modules`);
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
  return { root: `${root}/`, shortRev, subject, remove };
}
