/**
 * Defaults of every limit, in one place, with the reason for each value.
 *
 * @module
 */

/**
 * The largest message accepted, in bytes. 64 MiB is what Deno's built-in server allows; ws
 * allows 100 MiB and python-websockets 1 MiB. Large enough for file transfer over one message,
 * small enough that one peer cannot exhaust memory.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The largest HTTP request head (request line and headers), in bytes; over it the answer is 431.
 * 16 KiB is Node's default (`--max-http-header-size`), which ws inherits; browsers send < 2 KiB.
 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/**
 * How long to wait for the peer's close frame after sending ours, and for the peer to end TCP
 * after the close handshake, before ending TCP anyway. python-websockets' `close_timeout` is
 * 10 s; ws waits 30 s.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
