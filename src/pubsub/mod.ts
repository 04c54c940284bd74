/**
 * Topics across processes: the {@linkcode PubSub} seam a server relays its topics through, and
 * {@linkcode localPubSub} between the workers of one process. `redisPubSub`, for processes and
 * machines, is an entry point of its own (`./redis.ts`), so that a server without it loads no
 * Redis code.
 *
 * @example
 * ```ts ignore
 * import { localPubSub } from "./mod.ts";
 * const pubsub = localPubSub("my-app");
 * pubsub.start({ onMessage: (message) => console.log(message.topic), onEvent: console.error });
 * ```
 *
 * @module
 */

export { localPubSub, type LocalPubSubOptions } from "./local.ts";
export * from "./pubsub.ts";
