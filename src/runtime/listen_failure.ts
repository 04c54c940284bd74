/**
 * Listen errors named by their POSIX code (`EADDRINUSE` …), as Bun's and Node's are, in the words
 * every adapter uses.
 *
 * @module
 */

import type { ListenFailure } from "../transport.ts";

/**
 * The {@linkcode ListenFailure} of an error whose `code` is a POSIX error name.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { listenFailure } from "./listen_failure.ts";
 * assertEquals(listenFailure(Object.assign(new Error(), { code: "EADDRINUSE" })), "AddrInUse");
 * assertEquals(listenFailure(new Error("no code")), "Other");
 * ```
 */
export function listenFailure(error: unknown): ListenFailure {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE") return "AddrInUse";
  if (code === "EADDRNOTAVAIL") return "AddrNotAvailable";
  if (code === "EACCES" || code === "EPERM") return "PermissionDenied";
  return "Other";
}
