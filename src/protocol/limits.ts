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
 * The largest HTTP head (start line and headers), in bytes: over it a server answers 431, and a
 * client fails the upgrade. 16 KiB is Node's default (`--max-http-header-size`), which ws
 * inherits; browsers send < 2 KiB, and a 101 response is smaller still.
 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/**
 * The most header fields an HTTP head may have: over it a server answers 431, and a client fails
 * the upgrade. A flood of tiny fields fits in 16 KiB yet costs far more to parse and store than
 * its bytes (the crash behind CVE-2024-37890 in ws came from one). 100 is the limit of Python's
 * `http.client` and `http.server`; python-websockets allows 128, tungstenite 124, Node 2000.
 * Browsers send about 15.
 */
export const DEFAULT_MAX_HEADER_COUNT = 100;

/**
 * The most WebSockets a server keeps open at once; over it an upgrade gets 503. ws, uWS,
 * python-websockets and the runtimes' own servers set no limit and leave it to the process's
 * file descriptor limit, which on many systems is 1024 by default, or 2^20 once raised: a
 * default of none lets one client open connections until memory runs out. 10 000 idle
 * connections take about 180 MiB here (18 KiB each, see the README's benchmark), more than most
 * single processes serve and far from what exhausts a machine.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/**
 * How long to wait for the peer's close frame after sending ours, and for the peer to end TCP
 * after the close handshake, before ending TCP anyway. python-websockets' `close_timeout` is
 * 10 s; ws waits 30 s.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * How long the opening handshake may take, in milliseconds, before TCP is ended: a server gives a
 * client this long to send its request head, a client gives a server this long to accept TCP and
 * answer. python-websockets' `open_timeout` is 10 s; a browser sends the head at once.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The most frames one data message may come in (RFC 6455 §5.4 sets no limit). Each fragment costs
 * bookkeeping beyond its bytes, so a message of many tiny fragments costs more than its size: at
 * this count that is a few tens of MiB at most, less than the message limit already allows.
 * Autobahn's 9.3 and 9.4 cases send 4 MiB in 64-byte fragments, exactly this many.
 */
export const DEFAULT_MAX_FRAGMENTS = 65_536;

/**
 * Messages waiting for the handler (or for `receive()`) above which the connection stops reading
 * from the peer until they are taken, so TCP pushes back on it. python-websockets' `max_queue` is
 * 16 messages too.
 */
export const DEFAULT_MAX_QUEUED_MESSAGES = 16;

/**
 * Bytes queued for a peer (framing included) above which it is a slow consumer: the connection
 * stops reading from it, a handler's replies wait, and its grace time starts. A few messages of a
 * megabyte still fit, so large echoes keep streaming. Bun's built-in server allows 16 MiB,
 * uWebSockets 1 MiB before it drops; python-websockets pauses writers above 32 KiB.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * How long the queue for a peer may stay over `maxBufferedBytes` before the connection is closed
 * as a slow consumer: a short stall (a phone switching networks) passes, a peer that cannot take
 * one message over the limit in this time is not keeping up. As long as the close timeout.
 */
export const DEFAULT_SLOW_CONSUMER_GRACE_MS = 10_000;

/**
 * How long the connection may receive nothing before a keepalive ping is sent. python-websockets'
 * `ping_interval` is 20 s: well under the 60 s after which common reverse proxies (nginx's
 * `proxy_read_timeout`, AWS load balancers) cut a quiet connection.
 */
export const DEFAULT_PING_INTERVAL_MS = 20_000;

/**
 * How long a keepalive ping's pong may take before the connection is failed with 1011.
 * python-websockets' `ping_timeout` is 20 s.
 */
export const DEFAULT_PING_TIMEOUT_MS = 20_000;

/**
 * How long a connection may carry no message either way before it is closed with 1001: off (0)
 * by default, as in python-websockets and ws, because keepalive already finds dead peers and
 * only the application knows how long its quiet connections should live (uWebSockets closes
 * after 120 s).
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 0;

/**
 * Whether a server compresses each message on its own under permessage-deflate
 * (`server_no_context_takeover`, RFC 7692 §7.1.1.1). The zlib of Deno and Bun gives every
 * compressor 140 to 220 KiB whatever its window and `memLevel`, so a compressor per connection
 * would cost more than the rest of the connection ten times over; with no context kept, one
 * compressor, reset after each message, serves them all. uWebSockets (Bun's server) shares one
 * by default for the same reason. The cost is ratio on small messages that repeat each other.
 */
export const DEFAULT_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER = true;

/**
 * The window, in bits, an end compresses with under permessage-deflate, and the most it asks
 * the other to use (`server_max_window_bits`, `client_max_window_bits`; RFC 7692 §7.1.2): zlib's
 * own 32 KiB. It costs a client's decompressor nothing at rest with Deno's and Bun's zlib, and
 * any limit in a client's offer makes uWebSockets (Bun's server) decline it.
 */
export const DEFAULT_DEFLATE_MAX_WINDOW_BITS = 15;

/**
 * Messages smaller than this many bytes are sent uncompressed: below it, compression saves a
 * few bytes at best and costs a call into zlib. ws's `threshold` is 1024 too.
 */
export const DEFAULT_DEFLATE_THRESHOLD_BYTES = 1024;

/** zlib's compression level: 6 is zlib's own default, which ws and python-websockets keep. */
export const DEFAULT_DEFLATE_LEVEL = 6;

/** zlib's `memLevel`: 8 is zlib's own default, and the compressor is shared (see above). */
export const DEFAULT_DEFLATE_MEM_LEVEL = 8;

/**
 * The most connections that use permessage-deflate at once; those past it go uncompressed. With
 * the defaults each keeps a decompressor for the client's context, about 15 KiB (see the README
 * for measurements); with server context takeover also a compressor of 140 to 220 KiB, which
 * makes 4096 of them take up to 900 MiB: lower this if you turn takeover on.
 */
export const DEFAULT_DEFLATE_MAX_CONNECTIONS = 4096;

// HTTP/1.1 request bodies, for the requests served over plain HTTP.

/**
 * The largest request body, in bytes: a larger `Content-Length` is answered 413 before any of the
 * body is read, and a chunked body gets 413 as soon as a chunk size takes it over. As large as
 * the largest WebSocket message, so neither way into the server takes more from a peer. Bun's
 * server allows 128 MiB (`maxRequestBodySize`), nginx 1 MiB (`client_max_body_size`); Deno's
 * and Node's set no limit.
 */
export const DEFAULT_MAX_BODY_BYTES = DEFAULT_MAX_MESSAGE_BYTES;

/**
 * The most bytes of chunk extensions (RFC 9112 §7.1.1) one chunked body may carry, all its
 * chunks together; over it the request gets 413. Extensions are read and ignored, so without a
 * bound a peer could keep the server reading while sending next to no data, past every body
 * limit (CVE-2024-22019 in Node, CVE-2023-39326 in Go). 16 KiB is Node's limit (llhttp's
 * `kMaxChunkExtensionsSize`), which Bun's server shares.
 */
export const DEFAULT_MAX_CHUNK_EXTENSION_BYTES = 16 * 1024;

/**
 * The most hex digits a chunk size may have, leading zeros included: 16 spell any 64-bit size,
 * and a size past `Number.MAX_SAFE_INTEGER` (14 digits) is refused anyway, so more digits are
 * padding at best. RFC 9112 §7.1 asks a recipient to guard against overflow in large sizes.
 */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/**
 * How long a kept-alive HTTP connection may wait for its next request to begin before the server
 * closes it (RFC 9112 §9.5 lets a server close an idle connection at any time). 5 s is Node's
 * `server.keepAliveTimeout`: long enough for a browser loading a page to reuse its connections
 * (it sends the next request within milliseconds), short enough that idle sockets do not pile
 * up. Bun's `idleTimeout` is 10 s, nginx's `keepalive_timeout` 75 s. A proxy in front that keeps
 * idle connections longer than this may send a request on one the server is just closing; give
 * such a proxy a shorter timeout than the server's.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
