/*
 * loadgen: the benchmark's WebSocket load generator.
 *
 * One thread, one edge-triggered epoll loop, non-blocking sockets. Each connection keeps
 * `--depth` messages in flight: a masked frame goes out, its echo comes back, the next frame
 * goes out. A payload is a window into one fixed pseudo-random pattern, placed by (connection,
 * sequence number), so every echo is checked byte for byte without keeping a copy of what was
 * sent, and a reordered, duplicated or corrupted echo fails the comparison.
 *
 * With --deflate it offers permessage-deflate (RFC 7692), compresses every message it sends with
 * a context kept per connection, inflates compressed echoes before checking them, and reports
 * how many payload bytes went over the wire against how many were carried. --type json sends
 * text that is a window into JSON-like records, which compresses as real JSON traffic does.
 *
 * Mode `raw` skips the handshake and expects a TCP echo server to return the client frames
 * unchanged: the ceiling a WebSocket server is compared against.
 *
 * Mode `fanout` measures a topic's fan-out: `--connections` subscribers only read, and one more
 * connection, the publisher, opened last, sends with `--depth` messages in flight. The server
 * must send each message to every connection on the path, the publisher too (a room, as
 * `mod.ts --rooms` serves it): the publisher's own copy is its acknowledgement, and frees its
 * place in flight. A message's payload starts with its sequence number in 16 hex digits and goes
 * on as a window into the pattern, so each receiver checks every byte, and that the numbers only
 * grow: a gap is a message missed, a repeat or a step back a verify error. After the measured
 * window the publisher stops, every receiver gets up to FANOUT_DRAIN_NS to catch up, and the
 * messages of the measured window that an open connection never got are reported as missed.
 * `--port` takes several ports, comma-separated: connection i goes to the i-th modulo their
 * count, the publisher to the first (subscribers of one topic spread over server processes).
 *
 * Build: cc -O2 -Wall -Wextra -o bench/.build/loadgen bench/loadgen.c -lz
 * Run:   bench/.build/loadgen --port 8080 --connections 64 --depth 16   (see --help)
 * Test:  bash bench/loadgen_test.sh
 * Prints one JSON line on stdout; errors go to stderr.
 *
 * What the numbers mean: messages counts echoes that arrived in the measured window; latency
 * runs from when a message became due (its predecessor's echo arrived) to its echo, so it
 * includes time queued behind a full socket. In fanout mode messages counts the messages that
 * subscribers received in the window (the publisher's copies are `published`), and latency runs
 * from when a message became due at the publisher to its arrival at each subscriber. connect_ms
 * runs from the first connect() to the last finished handshake; in raw mode to the last finished
 * TCP connect, which can include 1 s SYN retransmits when thousands of connections overflow the
 * echo server's accept backlog.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- Limits, each with why ------------------------------------------------------------ */

/* Connections connecting or handshaking at once. Opening 10,000 at once overflows the server's
 * accept backlog (511 in Deno and Node, 512 in uWS); the kernel then drops SYNs and each costs
 * a 1 s retransmit. A finished handshake proves the server accepted; in raw mode nothing does,
 * so there a slow-accepting server can still overflow. */
#define MAX_PENDING_CONNECTS 256
/* Largest response head accepted from the server; a real 101 response is about 150 bytes. */
#define MAX_RESPONSE_HEAD 8192
/* Bytes of frames built ahead of send() per connection: enough to batch every due frame of
 * small messages into one send(). Large messages go out in pieces of this size (256 KiB sends
 * beat 64 KiB ones by 20 % at 1 MiB), so memory is connections × this, not connections × depth
 * × size, and all buffers together stay within OUT_BUFFER_BUDGET. */
#define MAX_OUT_BUFFER (256 * 1024)
#define OUT_BUFFER_BUDGET (256u * 1024 * 1024)
/* Room for the upgrade request (the path is limited to MAX_PATH) or a pong plus a close. */
#define MIN_OUT_BUFFER 2048
#define MAX_PATH 1024
/* One read() per wakeup takes the whole socket buffer in most cases. */
#define READ_BUFFER_BYTES (256 * 1024)
#define MAX_EVENTS 512
/* After the measured window: time for in-flight echoes and the closing handshake. */
#define CLOSE_GRACE_NS 2000000000ull
/* Payloads are windows into a pattern this long (plus `size`); a prime, so windows of two
 * messages coincide only when their start offsets do. */
#define PATTERN_PERIOD 65521u
#define MAX_MESSAGE_BYTES (64u * 1024 * 1024)
/* Fanout: the sequence number leading each payload, in hex digits (valid UTF-8 for text). */
#define FANOUT_SEQ_DIGITS 16
/* Fanout: when each message became due, for the subscribers' latency, in a ring this long; a
 * run publishes far fewer (about 10,000 a second), and an older slot is not used. */
#define FANOUT_RING (1u << 20)
/* Fanout: how long receivers get after the measured window to catch up with the publisher. */
#define FANOUT_DRAIN_NS 5000000000ull
/* Server processes one run may spread its connections over (--port a,b,...). */
#define MAX_PORTS 8

/* RFC 6455 §5.2: at most 2 + 8 length bytes + 4 mask bytes. §5.5: control payloads ≤ 125. */
#define MAX_FRAME_HEADER 14
#define MAX_CONTROL_PAYLOAD 125

/* RFC 6455 §11.8 */
enum opcode { OPCODE_TEXT = 0x1, OPCODE_BINARY = 0x2, OPCODE_CLOSE = 0x8, OPCODE_PING = 0x9,
              OPCODE_PONG = 0xA };
/* RFC 6455 §7.4.1 */
#define CLOSE_NORMAL 1000
/* RFC 6455 §1.3 */
static const char WEBSOCKET_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- Options ------------------------------------------------------------------------------ */

static struct options {
    const char *host;
    int port; /* the first of ports */
    int ports[MAX_PORTS];
    uint32_t port_count;
    uint32_t connections;
    uint32_t depth;
    uint32_t size;
    bool binary;
    bool json;
    bool deflate;
    double duration_s;
    double warmup_s;
    bool raw;
    bool fanout;
    const char *path;
    double hold_s;
    bool hold_echo;
    double connect_timeout_s;
} opt = {
    .host = "127.0.0.1",
    .connections = 64,
    .depth = 1,
    .size = 16,
    .duration_s = 5,
    .warmup_s = 1,
    .path = "/",
    .connect_timeout_s = 30,
};

static void usage(FILE *to)
{
    fputs("usage: loadgen --port N [options]\n"
          "  --host ADDR          IPv4 address of the server (default 127.0.0.1)\n"
          "  --port N[,N...]      TCP port of the server (required); several: connection i\n"
          "                       goes to the i-th modulo their count\n"
          "  --connections N      concurrent connections; fanout: subscribers (default 64)\n"
          "  --depth N            messages in flight per connection; fanout: the\n"
          "                       publisher's (default 1)\n"
          "  --size N             payload bytes per message (default 16)\n"
          "  --type text|binary|json  message type; json: text of JSON-like records (default\n"
          "                       text)\n"
          "  --deflate            offer permessage-deflate and compress what is sent\n"
          "  --duration S         measured seconds (default 5)\n"
          "  --warmup S           seconds of traffic before measuring (default 1)\n"
          "  --mode ws|raw|fanout ws: a WebSocket echo server; raw: a TCP echo server, no\n"
          "                       handshake, the same frames must come back; fanout: a room\n"
          "                       server, every message to every connection on the path, one\n"
          "                       publisher, --connections subscribers (default ws)\n"
          "  --path P             path of the upgrade request (default /)\n"
          "  --hold S             open every connection, send nothing for S seconds, then\n"
          "                       report and exit (default 0: off)\n"
          "  --hold-echo          with --hold: each connection first sends one message and\n"
          "                       gets its echo, so the server holds what a used connection\n"
          "                       holds (with --deflate: its compression contexts)\n"
          "  --connect-timeout S  give up on connections not open after S seconds (default 30)\n"
          "Prints one JSON line on stdout. Exit status: 0 when every connection opened and\n"
          "stayed open, every echo matched, (fanout) none was missed and (without --hold) at\n"
          "least one was measured; 1 otherwise (details on stderr); 2 on bad usage.\n",
          to);
}

static void usage_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, args);
    fputs("\n", stderr);
    va_end(args);
    usage(stderr);
    exit(2);
}

static uint64_t parse_count(const char *name, const char *text, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || value < min || value > max)
        usage_error("--%s wants a whole number from %llu to %llu, not '%s'", name,
                    (unsigned long long)min, (unsigned long long)max, text);
    return value;
}

static double parse_seconds(const char *name, const char *text, bool zero_allowed)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || *end || !(value >= 0) || value > 86400 || (!zero_allowed && !value))
        usage_error("--%s wants seconds%s, not '%s'", name, zero_allowed ? "" : " above 0", text);
    return value;
}

/* --port N[,N...] */
static void parse_ports(const char *text)
{
    char copy[MAX_PORTS * 6 + 1];
    if (strlen(text) >= sizeof copy) usage_error("--port takes at most %d ports", MAX_PORTS);
    strcpy(copy, text);
    opt.port_count = 0;
    char *save;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (opt.port_count == MAX_PORTS) usage_error("--port takes at most %d ports", MAX_PORTS);
        opt.ports[opt.port_count++] = parse_count("port", item, 1, 65535);
    }
    if (!opt.port_count) usage_error("--port wants a port");
    opt.port = opt.ports[0];
}

static void parse_options(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"host", required_argument, 0, 'h'},        {"port", required_argument, 0, 'p'},
        {"connections", required_argument, 0, 'c'}, {"depth", required_argument, 0, 'd'},
        {"size", required_argument, 0, 's'},        {"type", required_argument, 0, 't'},
        {"duration", required_argument, 0, 'D'},    {"warmup", required_argument, 0, 'w'},
        {"mode", required_argument, 0, 'm'},        {"path", required_argument, 0, 'P'},
        {"hold", required_argument, 0, 'H'},        {"connect-timeout", required_argument, 0, 'T'},
        {"deflate", no_argument, 0, 'z'},           {"hold-echo", no_argument, 0, 'e'},
        {"help", no_argument, 0, 'u'},              {0, 0, 0, 0},
    };
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (option) {
        case 'h': opt.host = optarg; break;
        case 'p': parse_ports(optarg); break;
        case 'c': opt.connections = parse_count("connections", optarg, 1, 1000000); break;
        case 'd': opt.depth = parse_count("depth", optarg, 1, 65536); break;
        case 's': opt.size = parse_count("size", optarg, 0, MAX_MESSAGE_BYTES); break;
        case 'D': opt.duration_s = parse_seconds("duration", optarg, false); break;
        case 'w': opt.warmup_s = parse_seconds("warmup", optarg, true); break;
        case 'H': opt.hold_s = parse_seconds("hold", optarg, true); break;
        case 'T': opt.connect_timeout_s = parse_seconds("connect-timeout", optarg, false); break;
        case 'P': opt.path = optarg; break;
        case 't':
            if (strcmp(optarg, "text") && strcmp(optarg, "binary") && strcmp(optarg, "json"))
                usage_error("--type is text, binary or json, not '%s'", optarg);
            opt.binary = !strcmp(optarg, "binary");
            opt.json = !strcmp(optarg, "json");
            break;
        case 'z': opt.deflate = true; break;
        case 'e': opt.hold_echo = true; break;
        case 'm':
            if (strcmp(optarg, "ws") && strcmp(optarg, "raw") && strcmp(optarg, "fanout"))
                usage_error("--mode is ws, raw or fanout, not '%s'", optarg);
            opt.raw = !strcmp(optarg, "raw");
            opt.fanout = !strcmp(optarg, "fanout");
            break;
        case 'u':
            usage(stdout);
            exit(0);
        default:
            usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) usage_error("unexpected argument '%s'", argv[optind]);
    if (!opt.port) usage_error("--port is required");
    if (opt.deflate && opt.raw) usage_error("--deflate needs --mode ws");
    if (opt.hold_echo && !opt.hold_s) usage_error("--hold-echo needs --hold");
    if (opt.fanout && (opt.deflate || opt.hold_s))
        usage_error("--mode fanout takes neither --deflate nor --hold");
    if (opt.fanout && opt.size < FANOUT_SEQ_DIGITS)
        usage_error("--mode fanout needs --size %d or more, for the sequence number",
                    FANOUT_SEQ_DIGITS);
    /* RFC 7230 §3.1.1: the request target is one token without spaces or line breaks. */
    if (opt.path[0] != '/' || strlen(opt.path) > MAX_PATH || strpbrk(opt.path, " \t\r\n"))
        usage_error("--path must start with / and hold no spaces, at most %d bytes", MAX_PATH);
}

/* ---- Clock and random numbers ------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static uint64_t seconds_to_ns(double seconds) { return (uint64_t)(seconds * 1e9 + 0.5); }

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* xorshift64*: fast, and masks only need to be unpredictable to proxies, not to attackers. */
static uint64_t xorshift_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

/* splitmix64 finaliser: spreads (connection, sequence) over the pattern. */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t mask_random; /* seeded from getrandom(): masks and handshake keys */

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ------------------------------------------- */

static uint32_t rotate_left(uint32_t x, int n) { return x << n | x >> (32 - n); }

/* FIPS 180-4 SHA-1 of a short message, in one call. */
static void sha1(const uint8_t *data, size_t len, uint8_t digest[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint64_t bit_len = (uint64_t)len * 8;
    /* Message, 0x80, zeros, 64-bit big-endian bit length: a whole number of 64-byte blocks. */
    size_t padded_len = (len + 1 + 8 + 63) / 64 * 64;
    for (size_t block = 0; block < padded_len; block += 64) {
        uint8_t bytes[64];
        for (size_t i = 0; i < 64; i++) {
            size_t at = block + i;
            bytes[i] = at < len              ? data[at]
                       : at == len           ? 0x80
                       : at >= padded_len - 8 ? (uint8_t)(bit_len >> (8 * (padded_len - 1 - at)))
                                             : 0;
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)bytes[4 * i] << 24 | bytes[4 * i + 1] << 16 | bytes[4 * i + 2] << 8 |
                   bytes[4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rotate_left(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            uint32_t next = rotate_left(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rotate_left(b, 30), b = a, a = next;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (int i = 0; i < 20; i++) digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* RFC 4648 §4 base64 with padding; `out` holds 4 * ceil(len / 3) + 1 bytes. */
static void base64(const uint8_t *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
        *out++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        *out++ = i + 2 < len ? alphabet[v & 63] : '=';
    }
    *out = '\0';
}

/* RFC 6455 §4.2.2: base64(SHA-1(key + GUID)); `accept` holds 29 bytes. */
static void accept_key(const char *key, char *accept)
{
    uint8_t input[64], digest[20];
    size_t key_len = strlen(key);
    memcpy(input, key, key_len);
    memcpy(input + key_len, WEBSOCKET_GUID, sizeof WEBSOCKET_GUID - 1);
    sha1(input, key_len + sizeof WEBSOCKET_GUID - 1, digest);
    base64(digest, sizeof digest, accept);
}

/* ---- Payloads and frames ------------------------------------------------------------------ */

static uint8_t *pattern; /* PATTERN_PERIOD + size bytes; printable ASCII for text (valid UTF-8) */
static enum opcode data_opcode;
static size_t client_frame_len; /* header + payload of every data frame we send */
static uint8_t echo_header[MAX_FRAME_HEADER]; /* what a WebSocket server's echo must start with */
static size_t echo_header_len;

/* Records as an API would send them: the same keys, varying values. */
static void make_json_pattern(size_t len, uint64_t *state)
{
    static const char *const names[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
    static const char *const tags[] = {"\"new\"", "\"vip\"", "\"beta\",\"admin\"", ""};
    char record[256];
    size_t at = 0;
    while (at < len) {
        uint64_t r = xorshift_next(state);
        int n = snprintf(record, sizeof record,
                         "{\"id\":%llu,\"name\":\"%s\",\"email\":\"%s%u@example.com\","
                         "\"active\":%s,\"score\":%u.%02u,\"tags\":[%s]},",
                         (unsigned long long)(r >> 44), names[r % 6], names[(r >> 8) % 6],
                         (unsigned)(r >> 16) % 1000, (r >> 26) & 1 ? "true" : "false",
                         (unsigned)(r >> 27) % 100, (unsigned)(r >> 34) % 100, tags[(r >> 41) % 4]);
        size_t take = (size_t)n < len - at ? (size_t)n : len - at;
        memcpy(pattern + at, record, take);
        at += take;
    }
}

static void make_pattern(void)
{
    size_t len = PATTERN_PERIOD + (size_t)opt.size;
    pattern = malloc(len);
    if (!pattern) {
        fprintf(stderr, "loadgen: out of memory for a %zu-byte payload pattern\n", len);
        exit(1);
    }
    /* A fixed seed: the same message carries the same bytes in every run. */
    uint64_t state = 0x9E3779B97F4A7C15ull;
    if (opt.json) {
        make_json_pattern(len, &state);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint64_t r = xorshift_next(&state) >> 32;
        pattern[i] = opt.binary ? (uint8_t)r : (uint8_t)(' ' + r % 95);
    }
}

static const uint8_t *payload_of(uint32_t connection, uint64_t seq)
{
    return pattern + mix64((uint64_t)connection << 40 ^ seq) % PATTERN_PERIOD;
}

/* The "Per-Message Compressed" bit (RFC 7692 §6) in a frame's first byte. */
#define RSV1 0x40

/* RFC 6455 §5.2 frame header with FIN set and the shortest length encoding. */
static size_t frame_header(uint8_t *out, enum opcode opcode, uint64_t length, bool masked,
                           uint32_t mask)
{
    size_t n = 0;
    uint8_t mask_bit = masked ? 0x80 : 0;
    out[n++] = 0x80 | opcode;
    if (length < 126) {
        out[n++] = mask_bit | (uint8_t)length;
    } else if (length <= 0xFFFF) {
        out[n++] = mask_bit | 126;
        out[n++] = (uint8_t)(length >> 8);
        out[n++] = (uint8_t)length;
    } else {
        out[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8) out[n++] = (uint8_t)(length >> shift);
    }
    if (masked) {
        memcpy(out + n, &mask, 4);
        n += 4;
    }
    return n;
}

/* RFC 6455 §5.3 masking works on 16-byte GCC vectors (SSE2 on x86-64), then single bytes.
 * `phase` is the payload offset of the first byte, so a payload can be masked in pieces. */
typedef uint8_t mask_block __attribute__((vector_size(16)));

/* The mask as it lines up with the payload bytes from offset `phase` on, one block long. */
static void rotated_mask(uint32_t mask, uint64_t phase, uint8_t bytes[sizeof(mask_block)])
{
    uint8_t key[4];
    memcpy(key, &mask, 4);
    for (size_t i = 0; i < sizeof(mask_block); i++) bytes[i] = key[(phase + i) & 3];
}

/* dst[i] = src[i] ^ mask[(phase + i) % 4]. */
static void mask_copy(uint8_t *dst, const uint8_t *src, size_t len, uint32_t mask, uint64_t phase)
{
    uint8_t bytes[sizeof(mask_block)];
    mask_block block_mask;
    rotated_mask(mask, phase, bytes);
    memcpy(&block_mask, bytes, sizeof block_mask);
    size_t i = 0;
    for (; i + sizeof(mask_block) <= len; i += sizeof(mask_block)) {
        mask_block chunk;
        memcpy(&chunk, src + i, sizeof chunk);
        chunk ^= block_mask;
        memcpy(dst + i, &chunk, sizeof chunk);
    }
    for (; i < len; i++) dst[i] = src[i] ^ bytes[i % sizeof(mask_block)];
}

/* Whether masked[i] ^ mask[(phase + i) % 4] == plain[i] for every i: one pass where unmasking
 * then memcmp() would take two. */
static bool masked_equals(const uint8_t *masked, const uint8_t *plain, size_t len, uint32_t mask,
                          uint64_t phase)
{
    uint8_t bytes[sizeof(mask_block)];
    mask_block block_mask, differences = {0};
    rotated_mask(mask, phase, bytes);
    memcpy(&block_mask, bytes, sizeof block_mask);
    size_t i = 0;
    for (; i + sizeof(mask_block) <= len; i += sizeof(mask_block)) {
        mask_block a, b;
        memcpy(&a, masked + i, sizeof a);
        memcpy(&b, plain + i, sizeof b);
        differences |= a ^ b ^ block_mask;
    }
    uint64_t words[2];
    memcpy(words, &differences, sizeof words);
    uint64_t any = words[0] | words[1];
    for (; i < len; i++) any |= masked[i] ^ plain[i] ^ bytes[i % sizeof(mask_block)];
    return !any;
}

/* ---- Latency histogram -------------------------------------------------------------------- */

/* Log-linear buckets over nanoseconds: exact below 256 ns, then 128 buckets per power of two,
 * so a bucket is at most 1/128 (0.8 %) of its values wide; reported values are bucket middles. */
#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_SUB_COUNT (1u << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_BUCKETS ((65 - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB_COUNT)

static uint64_t histogram[HISTOGRAM_BUCKETS];

static void histogram_add(uint64_t ns)
{
    if (ns < 2 * HISTOGRAM_SUB_COUNT) {
        histogram[ns]++;
        return;
    }
    int shift = 63 - __builtin_clzll(ns) - HISTOGRAM_SUB_BITS;
    histogram[(size_t)(shift + 1) * HISTOGRAM_SUB_COUNT + (ns >> shift) - HISTOGRAM_SUB_COUNT]++;
}

static double histogram_percentile_us(double fraction, uint64_t total)
{
    if (!total) return 0;
    uint64_t rank = (uint64_t)(fraction * total);
    if (rank < fraction * total || !rank) rank++;
    uint64_t seen = 0;
    for (size_t bucket = 0; bucket < HISTOGRAM_BUCKETS; bucket++) {
        seen += histogram[bucket];
        if (seen < rank) continue;
        if (bucket < 2 * HISTOGRAM_SUB_COUNT) return bucket / 1e3;
        int shift = bucket / HISTOGRAM_SUB_COUNT - 1;
        uint64_t low = (uint64_t)(HISTOGRAM_SUB_COUNT + bucket % HISTOGRAM_SUB_COUNT) << shift;
        return (low + ((1ull << shift) >> 1)) / 1e3;
    }
    return 0;
}

/* ---- Connections -------------------------------------------------------------------------- */

enum conn_state { CONN_UNSTARTED, CONN_CONNECTING, CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSED };
enum parse_state { PARSE_HEADER, PARSE_ECHO_PAYLOAD, PARSE_CONTROL_PAYLOAD, PARSE_COMPRESSED,
                   PARSE_FANOUT_SEQ };

/* RFC 7692 §7.2.1: a sync flush ends with these bytes; they are left off the wire. */
static const uint8_t FLUSH_TAIL[4] = {0x00, 0x00, 0xFF, 0xFF};

/* One connection's permessage-deflate, made once the server accepted it. */
struct deflate_state {
    z_stream deflater, inflater;
    bool reset_deflater; /* client_no_context_takeover */
    uint8_t *out;        /* the message being sent, compressed */
    size_t out_len, out_capacity;
    uint8_t *in;         /* a compressed echo, as it arrives */
    size_t in_len, in_capacity;
    uint8_t *plain;      /* the echo inflated: opt.size bytes, and one to spot more */
};

struct in_flight {
    uint64_t queued_ns; /* when the message became due: its latency runs from here */
    uint32_t mask;
};

struct conn {
    uint32_t index;
    int port;
    int fd;
    enum conn_state state;
    bool closing; /* the run is over: no new messages; close once the echoes are in */
    bool close_frame_queued;

    char *response; /* handshake: the server's response head so far, NUL-terminated */
    size_t response_len;
    char expected_accept[29];

    /* Messages oldest_seq .. next_seq - 1 await their echo; message seq sits in slot
     * seq % depth of this ring. */
    struct in_flight *in_flight;
    uint64_t oldest_seq, next_seq;

    /* Bytes out[out_start, out_end) wait for send(). Frames are built into out lazily:
     * out_seq is the first message whose frame is not wholly in out, and out_frame_offset how
     * much of it is. */
    uint8_t *out;
    size_t out_start, out_end;
    uint64_t out_seq, out_frame_offset;
    bool pong_due;
    uint8_t pong_len;
    uint8_t pong_payload[MAX_CONTROL_PAYLOAD];

    /* Incremental parser of the server's bytes: a frame or header may be split anywhere. */
    enum parse_state parse;
    uint8_t header[MAX_FRAME_HEADER];
    uint8_t header_have, header_need;
    const uint8_t *expected_payload;
    uint64_t payload_offset, payload_left;
    uint32_t echo_mask; /* raw mode: the mask the echoed payload must still carry */
    uint8_t control_opcode, control_len;
    uint8_t control_payload[MAX_CONTROL_PAYLOAD];

    /* Fanout: the sequence number of the message arriving, its digits so far, the lowest number
     * the next message may carry, and how many messages of the measured window arrived. */
    uint64_t fanout_seq, fanout_next, fanout_in_window;
    uint8_t seq_digits[FANOUT_SEQ_DIGITS];
    uint8_t seq_digits_have;

    struct deflate_state *z; /* NULL unless permessage-deflate was agreed */
    uint64_t frame_len;      /* header + payload of the data frame being sent */
    int client_window_bits;  /* what the server's response allows this end */
    bool client_no_context_takeover;
};

enum phase { PHASE_CONNECT, PHASE_HOLD, PHASE_RUN, PHASE_DRAIN, PHASE_CLOSE, PHASE_DONE };

static struct run {
    enum phase phase;
    int epoll_fd;
    struct conn *conns;
    uint32_t total; /* connections: opt.connections, and in fanout mode the publisher */
    size_t out_capacity;
    uint32_t started, pending, open; /* pending: connecting or handshaking */
    uint64_t first_connect_ns, last_open_ns, connect_deadline_ns;
    uint64_t warmup_end_ns, measure_end_ns, hold_end_ns, drain_deadline_ns, close_deadline_ns;
    bool measuring;
    double cpu_start_s, cpu_pct;
    uint64_t cpu_start_ns;
    double seconds;
    /* Fanout: the publisher (the last connection); its messages from window_first to
     * window_end - 1 are the measured window's, checked for at every receiver; when each
     * message became due, by sequence number modulo FANOUT_RING; the payload being framed. */
    struct conn *publisher;
    uint64_t window_first, window_end;
    uint64_t *due_ns;
    uint8_t *fanout_payload;
} run;

static struct stats {
    uint64_t messages, verify_errors, lost_connections;
    uint64_t published, missed; /* fanout: the publisher's copies in the window; not received */
    /* Data payload bytes: as carried, and as they went over the wire, each way. */
    uint64_t sent_plain, sent_wire, received_plain, received_wire;
    char first_verify_error[256], first_lost_reason[256];
} stats;

static void close_conn(struct conn *c)
{
    if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE) run.pending--;
    if (c->state == CONN_OPEN) run.open--;
    close(c->fd);
    free(c->out);
    free(c->response);
    if (c->z) {
        deflateEnd(&c->z->deflater);
        inflateEnd(&c->z->inflater);
        free(c->z->out);
        free(c->z->in);
        free(c->z->plain);
        free(c->z);
        c->z = NULL;
    }
    c->out = NULL;
    c->response = NULL;
    c->state = CONN_CLOSED;
}

/* The connection failed: count it lost, keep the first reason for stderr, close it. */
static void lose_conn(struct conn *c, const char *fmt, ...)
{
    stats.lost_connections++;
    if (!stats.first_lost_reason[0]) {
        va_list args;
        va_start(args, fmt);
        int n = snprintf(stats.first_lost_reason, sizeof stats.first_lost_reason,
                         "connection %u: ", c->index);
        vsnprintf(stats.first_lost_reason + n, sizeof stats.first_lost_reason - n, fmt, args);
        va_end(args);
    }
    close_conn(c);
}

static void verify_failed(struct conn *c, const char *what)
{
    stats.verify_errors++;
    if (!stats.first_verify_error[0])
        snprintf(stats.first_verify_error, sizeof stats.first_verify_error,
                 "connection %u, message %llu: %s", c->index,
                 (unsigned long long)(opt.fanout ? c->fanout_next : c->oldest_seq), what);
    lose_conn(c, "verify error: %s", what);
}

/* ---- Sending ------------------------------------------------------------------------------ */

static void queue_message(struct conn *c, uint64_t now)
{
    struct in_flight *message = &c->in_flight[c->next_seq % opt.depth];
    message->queued_ns = now;
    if (opt.fanout) run.due_ns[c->next_seq % FANOUT_RING] = now;
    message->mask = (uint32_t)(xorshift_next(&mask_random) >> 32);
    c->next_seq++;
}

/* A masked control frame (pong or close) at out_end; the caller checked the room. */
static void append_control_frame(struct conn *c, enum opcode opcode, const uint8_t *payload,
                                 size_t len)
{
    uint32_t mask = (uint32_t)(xorshift_next(&mask_random) >> 32);
    uint8_t *at = c->out + c->out_end;
    size_t header_len = frame_header(at, opcode, len, true, mask);
    mask_copy(at + header_len, payload, len, mask, 0);
    c->out_end += header_len + len;
}

/* Compresses the message about to be sent into c->z->out (RFC 7692 §7.2.1), without the
 * flush's tail. */
static bool compress_message(struct conn *c, const uint8_t *payload)
{
    struct deflate_state *z = c->z;
    z->deflater.next_in = (uint8_t *)payload;
    z->deflater.avail_in = opt.size;
    z->deflater.next_out = z->out;
    z->deflater.avail_out = z->out_capacity;
    int status = deflate(&z->deflater, Z_SYNC_FLUSH);
    size_t produced = z->out_capacity - z->deflater.avail_out;
    if (status != Z_OK || z->deflater.avail_in || !z->deflater.avail_out || produced < 4 ||
        memcmp(z->out + produced - 4, FLUSH_TAIL, 4)) {
        lose_conn(c, "deflate failed (%d)", status);
        return false;
    }
    z->out_len = produced - 4;
    if (z->reset_deflater) deflateReset(&z->deflater);
    stats.sent_plain += opt.size;
    stats.sent_wire += z->out_len;
    return true;
}

/* The payload of message `seq` of connection `c`: a window into the pattern; in fanout mode led
 * by the sequence number in hex, built in run.fanout_payload. */
static const uint8_t *message_payload(const struct conn *c, uint64_t seq)
{
    if (!opt.fanout) return payload_of(c->index, seq);
    memcpy(run.fanout_payload, payload_of(c->index, seq), opt.size);
    for (int i = FANOUT_SEQ_DIGITS - 1; i >= 0; i--, seq >>= 4)
        run.fanout_payload[i] = "0123456789abcdef"[seq & 15];
    return run.fanout_payload;
}

/* Builds due frames into out until it is full: obligations (a pong, the final close) go in
 * between data frames, never inside one. */
static void fill_out(struct conn *c)
{
    if (c->out_start) {
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    while (c->out_end < run.out_capacity) {
        size_t room = run.out_capacity - c->out_end;
        if (!c->out_frame_offset) {
            if (c->pong_due) {
                if (room < 6u + c->pong_len) return;
                append_control_frame(c, OPCODE_PONG, c->pong_payload, c->pong_len);
                c->pong_due = false;
                continue;
            }
            if (c->out_seq == c->next_seq) {
                if (c->closing && !opt.raw && !c->close_frame_queued && room >= 8) {
                    static const uint8_t normal[2] = {CLOSE_NORMAL >> 8, CLOSE_NORMAL & 0xFF};
                    append_control_frame(c, OPCODE_CLOSE, normal, sizeof normal);
                    c->close_frame_queued = true;
                }
                return;
            }
        }
        const struct in_flight *message = &c->in_flight[c->out_seq % opt.depth];
        const uint8_t *payload = message_payload(c, c->out_seq);
        uint64_t payload_len = opt.size;
        bool compressed = c->z && opt.size;
        if (compressed) {
            if (!c->out_frame_offset && !compress_message(c, payload)) return;
            payload = c->z->out;
            payload_len = c->z->out_len;
        }
        uint8_t header[MAX_FRAME_HEADER];
        size_t header_len = frame_header(header, data_opcode, payload_len, true, message->mask);
        if (compressed) header[0] |= RSV1;
        uint64_t frame_len = header_len + payload_len;
        uint64_t offset = c->out_frame_offset;
        size_t len = frame_len - offset < room ? frame_len - offset : room;
        uint8_t *at = c->out + c->out_end;
        size_t done = 0;
        if (offset < header_len) {
            done = header_len - offset < len ? header_len - offset : len;
            memcpy(at, header + offset, done);
        }
        if (done < len) {
            uint64_t payload_offset = offset + done - header_len;
            mask_copy(at + done, payload + payload_offset, len - done, message->mask,
                      payload_offset);
        }
        c->out_end += len;
        c->out_frame_offset += len;
        if (c->out_frame_offset == frame_len) {
            c->out_seq++;
            c->out_frame_offset = 0;
        }
    }
}

/* Sends what is due, every due frame in one send() when it fits. A short send means the
 * socket buffer is full: EPOLLOUT calls again. */
static void flush(struct conn *c)
{
    for (;;) {
        fill_out(c);
        size_t len = c->out_end - c->out_start;
        if (!len) return;
        ssize_t sent = send(c->fd, c->out + c->out_start, len, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            if (c->closing) close_conn(c);
            else lose_conn(c, "send: %s", strerror(errno));
            return;
        }
        c->out_start += sent;
        if ((size_t)sent < len) return;
    }
}

/* ---- Receiving frames --------------------------------------------------------------------- */

static void on_fanout_message(struct conn *c, uint64_t now);

static void on_echo(struct conn *c, uint64_t now)
{
    if (opt.fanout) {
        on_fanout_message(c, now);
        return;
    }
    const struct in_flight *message = &c->in_flight[c->oldest_seq % opt.depth];
    if (now >= run.warmup_end_ns && now < run.measure_end_ns) {
        stats.messages++;
        histogram_add(now - message->queued_ns);
    }
    c->oldest_seq++;
    if (!c->closing && !opt.hold_s) queue_message(c, now);
    else if (opt.raw && c->oldest_seq == c->next_seq) close_conn(c);
}

static void on_control(struct conn *c)
{
    switch (c->control_opcode) {
    case OPCODE_PING: /* RFC 6455 §5.5.3: answering the most recent ping is enough */
        memcpy(c->pong_payload, c->control_payload, c->control_len);
        c->pong_len = c->control_len;
        c->pong_due = true;
        break;
    case OPCODE_PONG:
        break;
    case OPCODE_CLOSE:
        if (c->closing) {
            close_conn(c);
        } else {
            unsigned code = c->control_len >= 2
                                ? (unsigned)c->control_payload[0] << 8 | c->control_payload[1]
                                : 1005;
            lose_conn(c, "the server sent a close frame (code %u)", code);
        }
        break;
    default:
        verify_failed(c, "unknown control opcode");
    }
}

/* The payload length a whole header in c->header declares. */
static uint64_t declared_length(const struct conn *c)
{
    uint8_t length7 = c->header[1] & 0x7F;
    if (length7 < 126) return length7;
    if (length7 == 126) return (uint64_t)c->header[2] << 8 | c->header[3];
    uint64_t length = 0;
    for (int i = 2; i < 10; i++) length = length << 8 | c->header[i];
    return length;
}

/* The echo's payload is checked as it arrives. */
static void expect_plain_echo(struct conn *c, uint64_t now)
{
    c->expected_payload = payload_of(c->index, c->oldest_seq);
    c->payload_offset = 0;
    c->payload_left = opt.size;
    c->parse = PARSE_ECHO_PAYLOAD;
    if (!c->payload_left) {
        c->parse = PARSE_HEADER;
        on_echo(c, now);
    }
}

static void on_compressed_echo(struct conn *c, uint64_t now);

/* With permessage-deflate, an echo is one unmasked FIN frame of the same type: compressed
 * (RSV1) or, below the server's threshold, not. */
static void on_deflate_header(struct conn *c, uint64_t now)
{
    uint8_t first = c->header[0];
    uint64_t length = declared_length(c);
    if (!(first & 0x80) || (first & 0x30) || (first & 0x0F) != data_opcode || c->header[1] & 0x80) {
        verify_failed(c, "the echo is not one unmasked FIN frame of the same type");
        return;
    }
    if (!(first & RSV1)) {
        if (length != opt.size) {
            verify_failed(c, "an uncompressed echo has another length");
            return;
        }
        stats.received_plain += opt.size;
        stats.received_wire += opt.size;
        expect_plain_echo(c, now);
        return;
    }
    if (length > c->z->in_capacity) {
        verify_failed(c, "a compressed echo is longer than the message could compress to");
        return;
    }
    c->z->in_len = 0;
    c->payload_left = length;
    c->parse = PARSE_COMPRESSED;
    if (!length) on_compressed_echo(c, now);
}

/* A compressed echo is whole in c->z->in: inflates it (RFC 7692 §7.2.2) and checks it. */
static void on_compressed_echo(struct conn *c, uint64_t now)
{
    struct deflate_state *z = c->z;
    z_stream *s = &z->inflater;
    s->next_out = z->plain;
    s->avail_out = opt.size + 1;
    s->next_in = z->in;
    s->avail_in = z->in_len;
    int status = inflate(s, Z_SYNC_FLUSH);
    if (status == Z_OK || status == Z_BUF_ERROR) {
        s->next_in = (uint8_t *)FLUSH_TAIL;
        s->avail_in = sizeof FLUSH_TAIL;
        status = inflate(s, Z_SYNC_FLUSH);
    }
    if (status == Z_STREAM_END) inflateReset(s);
    else if (status != Z_OK && status != Z_BUF_ERROR) {
        verify_failed(c, "a compressed echo does not inflate");
        return;
    }
    if (opt.size + 1 - s->avail_out != opt.size ||
        memcmp(z->plain, payload_of(c->index, c->oldest_seq), opt.size)) {
        verify_failed(c, "a compressed echo inflates to something else");
        return;
    }
    stats.received_plain += opt.size;
    stats.received_wire += z->in_len;
    c->parse = PARSE_HEADER;
    on_echo(c, now);
}

/* Fanout: every data frame is one unmasked FIN frame of the type and size sent; its payload
 * starts with the sequence number, gathered in c->seq_digits. */
static void on_fanout_header(struct conn *c, size_t header_len)
{
    if (header_len != echo_header_len || memcmp(c->header, echo_header, echo_header_len)) {
        verify_failed(c, "a message is not one unmasked FIN frame of the type and length sent");
        return;
    }
    c->seq_digits_have = 0;
    c->parse = PARSE_FANOUT_SEQ;
}

/* Fanout: the sequence number is whole in c->seq_digits. It must be of a message sent, and above
 * every one this connection received; the rest of the payload is then checked as it arrives. */
static void on_fanout_seq(struct conn *c, uint64_t now)
{
    uint64_t seq = 0;
    for (int i = 0; i < FANOUT_SEQ_DIGITS; i++) {
        uint8_t digit = c->seq_digits[i];
        int value = digit >= '0' && digit <= '9' ? digit - '0'
                    : digit >= 'a' && digit <= 'f' ? digit - 'a' + 10
                                                   : -1;
        if (value < 0) {
            verify_failed(c, "a message does not start with a sequence number");
            return;
        }
        seq = seq << 4 | (uint64_t)value;
    }
    if (seq >= run.publisher->out_seq) {
        verify_failed(c, "a message arrived that was never sent");
        return;
    }
    if (seq < c->fanout_next) {
        verify_failed(c, "a message arrived twice or out of order");
        return;
    }
    c->fanout_seq = seq;
    c->expected_payload = payload_of(run.publisher->index, seq);
    c->payload_offset = FANOUT_SEQ_DIGITS;
    c->payload_left = opt.size - FANOUT_SEQ_DIGITS;
    c->parse = PARSE_ECHO_PAYLOAD;
    if (!c->payload_left) {
        c->parse = PARSE_HEADER;
        on_echo(c, now);
    }
}

/* Fanout: message c->fanout_seq arrived whole and as sent. At a subscriber it is a delivery; at
 * the publisher, whose copies come back in order, it frees the message's place in flight, and
 * those of any before it that never came back. */
static void on_fanout_message(struct conn *c, uint64_t now)
{
    uint64_t seq = c->fanout_seq;
    bool measured = now >= run.warmup_end_ns && now < run.measure_end_ns;
    c->fanout_next = seq + 1;
    if (seq >= run.window_first && seq < run.window_end) c->fanout_in_window++;
    if (c != run.publisher) {
        if (!measured) return;
        stats.messages++;
        /* An older slot holds a later message's time. */
        if (run.publisher->next_seq - seq <= FANOUT_RING)
            histogram_add(now - run.due_ns[seq % FANOUT_RING]);
        return;
    }
    if (measured) stats.published++;
    while (c->oldest_seq <= seq) {
        c->oldest_seq++;
        if (run.phase == PHASE_RUN) queue_message(c, now);
    }
}

/* A whole frame header, `header_len` bytes, is in c->header. */
static void on_header(struct conn *c, size_t header_len, uint64_t now)
{
    uint8_t first = c->header[0], second = c->header[1];
    int opcode = first & 0x0F;
    if (opcode >= OPCODE_CLOSE && !opt.raw) {
        /* RFC 6455 §5.5: control frames are whole and ≤ 125 bytes; §5.1: servers never mask. */
        if (!(first & 0x80) || (first & 0x70) || (second & 0x80) || (second & 0x7F) > 125) {
            verify_failed(c, "malformed control frame");
            return;
        }
        c->control_opcode = opcode;
        c->control_len = 0;
        c->payload_left = second & 0x7F;
        c->parse = PARSE_CONTROL_PAYLOAD;
        if (!c->payload_left) {
            c->parse = PARSE_HEADER;
            on_control(c);
        }
        return;
    }
    if (opt.fanout) {
        on_fanout_header(c, header_len);
        return;
    }
    /* A frame whose message has not been wholly written yet cannot be its echo. */
    if (c->oldest_seq >= c->out_seq) {
        verify_failed(c, "a data frame arrived that answers no message sent");
        return;
    }
    if (c->z) {
        on_deflate_header(c, now);
        return;
    }
    const struct in_flight *message = &c->in_flight[c->oldest_seq % opt.depth];
    uint8_t raw_header[MAX_FRAME_HEADER];
    const uint8_t *expected = echo_header;
    size_t expected_len = echo_header_len;
    if (opt.raw) {
        expected = raw_header;
        expected_len = frame_header(raw_header, data_opcode, opt.size, true, message->mask);
    }
    if (header_len != expected_len || memcmp(c->header, expected, expected_len)) {
        verify_failed(c, opt.raw ? "the frame header came back changed"
                                 : "the echo is not one unmasked FIN frame of the same type "
                                   "and length");
        return;
    }
    c->echo_mask = message->mask;
    expect_plain_echo(c, now);
}

/* Feeds the server's bytes to the parser. `now` is when they were read: the arrival time of
 * every echo they complete. */
static void on_frame_bytes(struct conn *c, const uint8_t *data, size_t len, uint64_t now)
{
    while (len && c->state == CONN_OPEN) {
        switch (c->parse) {
        case PARSE_HEADER: {
            size_t take = c->header_need - c->header_have;
            if (take > len) take = len;
            memcpy(c->header + c->header_have, data, take);
            c->header_have += take;
            data += take;
            len -= take;
            if (c->header_have == 2 && c->header_need == 2) {
                uint8_t second = c->header[1];
                c->header_need = 2 + ((second & 0x7F) == 126 ? 2 : (second & 0x7F) == 127 ? 8 : 0) +
                                 (second & 0x80 ? 4 : 0);
            }
            if (c->header_have < c->header_need) break;
            size_t header_len = c->header_need;
            c->header_have = 0;
            c->header_need = 2;
            on_header(c, header_len, now);
            break;
        }
        case PARSE_ECHO_PAYLOAD: {
            size_t take = c->payload_left < len ? c->payload_left : len;
            const uint8_t *expected = c->expected_payload + c->payload_offset;
            if (opt.raw ? !masked_equals(data, expected, take, c->echo_mask, c->payload_offset)
                        : memcmp(data, expected, take)) {
                verify_failed(c, "the payload came back changed");
                return;
            }
            c->payload_offset += take;
            c->payload_left -= take;
            data += take;
            len -= take;
            if (!c->payload_left) {
                c->parse = PARSE_HEADER;
                on_echo(c, now);
            }
            break;
        }
        case PARSE_FANOUT_SEQ: {
            size_t take = FANOUT_SEQ_DIGITS - c->seq_digits_have;
            if (take > len) take = len;
            memcpy(c->seq_digits + c->seq_digits_have, data, take);
            c->seq_digits_have += take;
            data += take;
            len -= take;
            if (c->seq_digits_have == FANOUT_SEQ_DIGITS) on_fanout_seq(c, now);
            break;
        }
        case PARSE_COMPRESSED: {
            size_t take = c->payload_left < len ? c->payload_left : len;
            memcpy(c->z->in + c->z->in_len, data, take);
            c->z->in_len += take;
            c->payload_left -= take;
            data += take;
            len -= take;
            if (!c->payload_left) on_compressed_echo(c, now);
            break;
        }
        case PARSE_CONTROL_PAYLOAD: {
            size_t take = c->payload_left < len ? c->payload_left : len;
            memcpy(c->control_payload + c->control_len, data, take);
            c->control_len += take;
            c->payload_left -= take;
            data += take;
            len -= take;
            if (!c->payload_left) {
                c->parse = PARSE_HEADER;
                on_control(c);
            }
            break;
        }
        }
    }
}

/* ---- Connecting and the handshake --------------------------------------------------------- */

static void on_open(struct conn *c)
{
    c->state = CONN_OPEN;
    run.pending--;
    run.open++;
    run.last_open_ns = now_ns();
}

static void send_upgrade_request(struct conn *c)
{
    uint8_t key_bytes[16];
    char key[25];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = xorshift_next(&mask_random);
        memcpy(key_bytes + i, &r, 8);
    }
    base64(key_bytes, sizeof key_bytes, key);
    accept_key(key, c->expected_accept);
    c->out_end = snprintf((char *)c->out, run.out_capacity,
                          "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n%s\r\n",
                          opt.path, opt.host, c->port, key,
                          opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                        "client_max_window_bits\r\n"
                                      : "");
    c->response = malloc(MAX_RESPONSE_HEAD + 1);
    if (!c->response) {
        lose_conn(c, "out of memory");
        return;
    }
    c->response_len = 0;
    c->state = CONN_HANDSHAKE;
    flush(c);
}

static void on_connected(struct conn *c)
{
    if (opt.raw) on_open(c);
    else send_upgrade_request(c);
}

static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t') text++;
    size_t len = strlen(text);
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t')) text[--len] = '\0';
    return text;
}

static bool has_token(char *list, const char *token)
{
    char *save;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save))
        if (!strcasecmp(trim(item), token)) return true;
    return false;
}

/* RFC 7692 §7.1: what the server's permessage-deflate response allows this end. */
static const char *read_deflate_response(struct conn *c, char *value)
{
    char *save;
    char *name = strtok_r(value, ";", &save);
    if (!name || strcmp(trim(name), "permessage-deflate")) return "not permessage-deflate";
    c->client_window_bits = 15;
    for (char *param; (param = strtok_r(NULL, ";", &save));) {
        param = trim(param);
        if (!strcmp(param, "client_no_context_takeover")) c->client_no_context_takeover = true;
        else if (!strncmp(param, "client_max_window_bits=", 23)) {
            c->client_window_bits = atoi(param + 23);
            if (c->client_window_bits < 9 || c->client_window_bits > 15)
                return "client_max_window_bits out of 9..15";
        }
    }
    return NULL;
}

/* RFC 6455 §4.1, the client's checks of the response: status 101, Upgrade: websocket,
 * Connection: Upgrade, and the accept key; with --deflate, permessage-deflate accepted.
 * Returns what is wrong, or NULL. `head` ends after the last header line's CRLF and is taken
 * apart in place. */
static const char *check_response(struct conn *c, char *head)
{
    const char *deflate_problem = opt.deflate ? "no permessage-deflate in the response" : NULL;
    if (strncmp(head, "HTTP/1.1 101", 12) || (head[12] != ' ' && head[12] != '\r'))
        return "the status is not 101";
    bool upgrade = false, connection = false, accept = false;
    char *line = strstr(head, "\r\n") + 2;
    for (char *end; (end = strstr(line, "\r\n")); line = end + 2) {
        *end = '\0';
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *value = trim(colon + 1);
        if (!strcasecmp(line, "upgrade")) upgrade = !strcasecmp(value, "websocket");
        else if (!strcasecmp(line, "connection")) connection = has_token(value, "upgrade");
        else if (!strcasecmp(line, "sec-websocket-accept"))
            accept = !strcmp(value, c->expected_accept);
        else if (!strcasecmp(line, "sec-websocket-extensions"))
            deflate_problem = opt.deflate ? read_deflate_response(c, value) : "an extension";
    }
    if (!upgrade) return "no 'Upgrade: websocket' header";
    if (!connection) return "no 'Connection: Upgrade' header";
    if (!accept) return "Sec-WebSocket-Accept is missing or wrong";
    return deflate_problem;
}

/* The compression state of a connection whose server accepted permessage-deflate. */
static bool start_deflate(struct conn *c)
{
    struct deflate_state *z = c->z = calloc(1, sizeof *z);
    if (!z) return false;
    /* -bits: raw DEFLATE, no zlib header (RFC 7692 §7.2.1). The inflater takes any window. */
    if (deflateInit2(&z->deflater, Z_BEST_SPEED, Z_DEFLATED, -c->client_window_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK ||
        inflateInit2(&z->inflater, -15) != Z_OK)
        return false;
    z->reset_deflater = c->client_no_context_takeover;
    z->out_capacity = deflateBound(&z->deflater, opt.size) + 16;
    /* Compressed data can outgrow its input by a few bytes per 16 KiB block. */
    z->in_capacity = opt.size + opt.size / 64 + 1024;
    z->out = malloc(z->out_capacity);
    z->in = malloc(z->in_capacity);
    z->plain = malloc((size_t)opt.size + 1);
    return z->out && z->in && z->plain;
}

static void on_handshake_bytes(struct conn *c, uint8_t *data, size_t len, uint64_t now)
{
    size_t take = MAX_RESPONSE_HEAD - c->response_len;
    if (take > len) take = len;
    size_t search_from = c->response_len > 3 ? c->response_len - 3 : 0;
    memcpy(c->response + c->response_len, data, take);
    c->response_len += take;
    c->response[c->response_len] = '\0';
    char *blank_line = memmem(c->response + search_from, c->response_len - search_from,
                              "\r\n\r\n", 4);
    if (!blank_line) {
        if (c->response_len == MAX_RESPONSE_HEAD)
            lose_conn(c, "handshake: no end of the response head in %d bytes", MAX_RESPONSE_HEAD);
        return;
    }
    size_t head_len = blank_line + 4 - c->response;
    blank_line[2] = '\0';
    int status_len = (int)strcspn(c->response, "\r\n");
    const char *problem = check_response(c, c->response);
    if (problem) {
        c->response[status_len] = '\0';
        lose_conn(c, "handshake: %s (status line '%s')", problem, c->response);
        return;
    }
    /* Bytes past the head already belong to the WebSocket stream (a ping, say). The buffer
     * leaves the connection here, so on_frame_bytes() may close the connection meanwhile. */
    if (opt.deflate && !start_deflate(c)) {
        lose_conn(c, "out of memory for permessage-deflate");
        return;
    }
    uint8_t *rest = (uint8_t *)c->response;
    size_t rest_len = c->response_len - head_len;
    memmove(rest, rest + head_len, rest_len);
    c->response = NULL;
    on_open(c);
    on_frame_bytes(c, rest, rest_len, now);
    free(rest);
    on_frame_bytes(c, data + take, len - take, now);
}

static void start_connect(struct conn *c)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    inet_pton(AF_INET, opt.host, &address.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
        exit(1);
    }
    c->fd = fd;
    c->state = CONN_CONNECTING;
    run.pending++;
    if (!run.first_connect_ns) run.first_connect_ns = now_ns();
    c->out = malloc(run.out_capacity);
    if (!c->out) {
        lose_conn(c, "out of memory");
        return;
    }
    /* Small frames must leave at once, not wait for Nagle's ACK. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(run.epoll_fd, EPOLL_CTL_ADD, fd, &event)) {
        lose_conn(c, "epoll_ctl: %s", strerror(errno));
        return;
    }
    if (!connect(fd, (struct sockaddr *)&address, sizeof address)) on_connected(c);
    else if (errno != EINPROGRESS) lose_conn(c, "connect: %s", strerror(errno));
}

/* ---- The event loop ----------------------------------------------------------------------- */

static uint8_t read_buffer[READ_BUFFER_BYTES];

static void on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, read_buffer, sizeof read_buffer);
        if (n > 0) {
            uint64_t now = now_ns();
            if (c->state == CONN_HANDSHAKE) on_handshake_bytes(c, read_buffer, n, now);
            else on_frame_bytes(c, read_buffer, n, now);
            if (c->state == CONN_CLOSED) return;
            /* A short read emptied the socket; edge-triggered epoll reports the next bytes. */
            if ((size_t)n < sizeof read_buffer) break;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            break;
        } else {
            if (c->closing) close_conn(c);
            else if (n == 0) lose_conn(c, "the server closed the TCP connection");
            else lose_conn(c, "read: %s", strerror(errno));
            return;
        }
    }
    flush(c);
}

static void on_event(struct conn *c, uint32_t events)
{
    if (c->state == CONN_CLOSED) return;
    if (c->state == CONN_CONNECTING) {
        int error = 0;
        socklen_t len = sizeof error;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error) lose_conn(c, "connect: %s", strerror(error));
        else if (events & EPOLLOUT) on_connected(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    else if (events & EPOLLOUT) flush(c);
}

static void start_more_connections(void)
{
    while (run.started < run.total && run.pending < MAX_PENDING_CONNECTS)
        start_connect(&run.conns[run.started++]);
}

static void begin_close(uint64_t now)
{
    run.phase = PHASE_CLOSE;
    run.close_deadline_ns = now + CLOSE_GRACE_NS;
    for (uint32_t i = 0; i < run.started; i++) {
        struct conn *c = &run.conns[i];
        if (c->state != CONN_OPEN) continue;
        c->closing = true;
        if (opt.raw && c->oldest_seq == c->next_seq) close_conn(c);
        else flush(c);
    }
}

static void begin_traffic(uint64_t now)
{
    if (!run.open || (opt.fanout && run.publisher->state != CONN_OPEN)) {
        run.phase = PHASE_DONE;
        return;
    }
    run.cpu_start_s = cpu_seconds();
    run.cpu_start_ns = now;
    if (opt.hold_s) {
        run.phase = PHASE_HOLD;
        run.hold_end_ns = now + seconds_to_ns(opt.hold_s);
        for (uint32_t i = 0; opt.hold_echo && i < run.total; i++) {
            struct conn *c = &run.conns[i];
            if (c->state != CONN_OPEN) continue;
            queue_message(c, now);
            flush(c);
        }
        return;
    }
    run.phase = PHASE_RUN;
    run.warmup_end_ns = now + seconds_to_ns(opt.warmup_s);
    run.measure_end_ns = run.warmup_end_ns + seconds_to_ns(opt.duration_s);
    for (uint32_t i = 0; i < run.total; i++) {
        struct conn *c = &run.conns[i];
        if (c->state != CONN_OPEN || (opt.fanout && c != run.publisher)) continue;
        for (uint32_t k = 0; k < opt.depth; k++) queue_message(c, now);
        flush(c);
    }
}

/* Fanout: the publisher stops; the receivers get until drain_deadline_ns to catch up. */
static void begin_drain(uint64_t now)
{
    run.phase = PHASE_DRAIN;
    run.window_end = run.publisher->next_seq;
    run.drain_deadline_ns = now + FANOUT_DRAIN_NS;
}

/* Fanout: whether every open connection has received the last message sent. */
static bool drained(void)
{
    for (uint32_t i = 0; i < run.total; i++) {
        const struct conn *c = &run.conns[i];
        if (c->state == CONN_OPEN && c->fanout_next < run.window_end) return false;
    }
    return true;
}

/* Fanout: what the measured window sent and an open connection did not receive was missed. */
static void end_drain(uint64_t now)
{
    uint64_t sent = run.window_end > run.window_first ? run.window_end - run.window_first : 0;
    for (uint32_t i = 0; i < run.total; i++) {
        const struct conn *c = &run.conns[i];
        if (c->state == CONN_OPEN) stats.missed += sent - c->fanout_in_window;
    }
    begin_close(now);
}

/* The reported window is [start_ns, end_ns); our CPU use is measured up to now. */
static void end_measurement(uint64_t start_ns, uint64_t end_ns, uint64_t now)
{
    run.seconds = end_ns > start_ns ? (end_ns - start_ns) / 1e9 : 0;
    uint64_t wall_ns = now - run.cpu_start_ns;
    run.cpu_pct = wall_ns ? (cpu_seconds() - run.cpu_start_s) * 1e9 / wall_ns * 100 : 0;
    if (opt.fanout) begin_drain(now);
    else begin_close(now);
}

/* Moves through connect → run (warmup, measured window) or hold → close → done. */
static void advance(uint64_t now)
{
    switch (run.phase) {
    case PHASE_CONNECT:
        start_more_connections();
        if (run.started == run.total && !run.pending) {
            begin_traffic(now);
        } else if (now >= run.connect_deadline_ns) {
            for (uint32_t i = 0; i < run.started; i++) {
                struct conn *c = &run.conns[i];
                if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE)
                    lose_conn(c, "not open after --connect-timeout %g s", opt.connect_timeout_s);
            }
            if (run.started < run.total && !stats.first_lost_reason[0])
                snprintf(stats.first_lost_reason, sizeof stats.first_lost_reason,
                         "connections not started within --connect-timeout %g s",
                         opt.connect_timeout_s);
            stats.lost_connections += run.total - run.started;
            run.started = run.total;
            begin_traffic(now);
        }
        break;
    case PHASE_HOLD:
        if (now >= run.hold_end_ns || !run.open) end_measurement(run.cpu_start_ns, now, now);
        break;
    case PHASE_RUN:
        if (!run.measuring && now >= run.warmup_end_ns) {
            run.measuring = true;
            run.cpu_start_s = cpu_seconds();
            run.cpu_start_ns = now;
            if (opt.fanout) run.window_first = run.publisher->next_seq;
        }
        if (now >= run.measure_end_ns || !run.open ||
            (opt.fanout && run.publisher->state != CONN_OPEN)) {
            /* Echoes count while their arrival is in [warmup end, measure end). */
            uint64_t end = now < run.measure_end_ns ? now : run.measure_end_ns;
            end_measurement(run.warmup_end_ns, end, now);
        }
        break;
    case PHASE_DRAIN:
        if (now >= run.drain_deadline_ns || drained()) end_drain(now);
        break;
    case PHASE_CLOSE:
        if (!run.open || now >= run.close_deadline_ns) {
            for (uint32_t i = 0; i < run.started; i++)
                if (run.conns[i].state == CONN_OPEN) close_conn(&run.conns[i]);
            run.phase = PHASE_DONE;
        }
        break;
    case PHASE_DONE:
        break;
    }
}

static uint64_t phase_deadline(void)
{
    switch (run.phase) {
    case PHASE_CONNECT: return run.connect_deadline_ns;
    case PHASE_HOLD: return run.hold_end_ns;
    case PHASE_RUN: return run.measuring ? run.measure_end_ns : run.warmup_end_ns;
    case PHASE_DRAIN: return run.drain_deadline_ns;
    case PHASE_CLOSE: return run.close_deadline_ns;
    case PHASE_DONE: break;
    }
    return 0;
}

static void event_loop(void)
{
    struct epoll_event events[MAX_EVENTS];
    advance(now_ns());
    while (run.phase != PHASE_DONE) {
        uint64_t now = now_ns(), deadline = phase_deadline();
        /* Round up: waking before the deadline would only spin. */
        int timeout_ms = deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
        int n = epoll_wait(run.epoll_fd, events, MAX_EVENTS, timeout_ms);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "loadgen: epoll_wait: %s\n", strerror(errno));
            exit(1);
        }
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
        advance(now_ns());
    }
}

/* ---- Setup and report --------------------------------------------------------------------- */

/* 10,000 connections need 10,000 descriptors; the soft limit is often 1024. */
static void raise_descriptor_limit(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    uint64_t needed = (uint64_t)opt.connections + 17;
    if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur) {
        fprintf(stderr, "loadgen: %u connections need %llu file descriptors; the hard limit is "
                        "%llu\n",
                opt.connections, (unsigned long long)needed, (unsigned long long)limit.rlim_cur);
        exit(1);
    }
}

static void setup(void)
{
    struct in_addr unused;
    if (inet_pton(AF_INET, opt.host, &unused) != 1)
        usage_error("--host wants an IPv4 address like 127.0.0.1, not '%s'", opt.host);
    raise_descriptor_limit();
    signal(SIGPIPE, SIG_IGN);
    if (getrandom(&mask_random, sizeof mask_random, 0) != sizeof mask_random || !mask_random)
        mask_random = now_ns() | 1;
    make_pattern();
    data_opcode = opt.binary ? OPCODE_BINARY : OPCODE_TEXT;
    uint8_t header[MAX_FRAME_HEADER];
    client_frame_len = frame_header(header, data_opcode, opt.size, true, 0) + opt.size;
    echo_header_len = frame_header(echo_header, data_opcode, opt.size, false, 0);
    uint64_t wanted = (uint64_t)opt.depth * client_frame_len + 2 * (6 + MAX_CONTROL_PAYLOAD);
    uint64_t most = OUT_BUFFER_BUDGET / opt.connections;
    if (most > MAX_OUT_BUFFER) most = MAX_OUT_BUFFER;
    if (wanted > most) wanted = most;
    run.out_capacity = wanted < MIN_OUT_BUFFER ? MIN_OUT_BUFFER : wanted;
    run.total = opt.connections + (opt.fanout ? 1 : 0);
    run.conns = calloc(run.total, sizeof *run.conns);
    struct in_flight *slots = calloc((size_t)run.total * opt.depth, sizeof *slots);
    run.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    run.window_first = run.window_end = UINT64_MAX;
    if (opt.fanout) {
        run.publisher = &run.conns[opt.connections];
        run.due_ns = calloc(FANOUT_RING, sizeof *run.due_ns);
        run.fanout_payload = malloc(opt.size);
    }
    if (!run.conns || !slots || run.epoll_fd < 0 ||
        (opt.fanout && (!run.due_ns || !run.fanout_payload))) {
        fprintf(stderr, "loadgen: out of memory or descriptors for %u connections\n",
                opt.connections);
        exit(1);
    }
    for (uint32_t i = 0; i < run.total; i++) {
        /* The publisher, last, goes to the first port. */
        run.conns[i].port = opt.ports[i < opt.connections ? i % opt.port_count : 0];
        run.conns[i].index = i;
        run.conns[i].fd = -1;
        run.conns[i].in_flight = slots + (size_t)i * opt.depth;
        run.conns[i].header_need = 2;
    }
    run.connect_deadline_ns = now_ns() + seconds_to_ns(opt.connect_timeout_s);
}

static int report(void)
{
    double seconds = run.seconds;
    double per_second = seconds > 0 ? stats.messages / seconds : 0;
    double connect_ms = run.last_open_ns > run.first_connect_ns
                            ? (run.last_open_ns - run.first_connect_ns) / 1e6
                            : 0;
    printf("{\"mode\":\"%s\",\"connections\":%u,\"depth\":%u,\"size\":%u,\"type\":\"%s\","
           "\"messages\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"verify_errors\":%llu,\"lost_connections\":%llu,"
           "\"connect_ms\":%.1f,\"loadgen_cpu_pct\":%.1f,\"sent_wire_ratio\":%.4f,"
           "\"received_wire_ratio\":%.4f,\"published\":%llu,\"publishes_per_s\":%.1f,"
           "\"missed\":%llu}\n",
           opt.raw ? "raw" : opt.fanout ? "fanout" : "ws", opt.connections, opt.depth, opt.size,
           opt.binary ? "binary" : opt.json ? "json" : "text", (unsigned long long)stats.messages, seconds, per_second,
           per_second * opt.size / 1e6, histogram_percentile_us(0.50, stats.messages),
           histogram_percentile_us(0.99, stats.messages),
           (unsigned long long)stats.verify_errors, (unsigned long long)stats.lost_connections,
           connect_ms, run.cpu_pct,
           stats.sent_plain ? (double)stats.sent_wire / stats.sent_plain : 1.0,
           stats.received_plain ? (double)stats.received_wire / stats.received_plain : 1.0,
           (unsigned long long)stats.published, seconds > 0 ? stats.published / seconds : 0,
           (unsigned long long)stats.missed);
    fflush(stdout);
    int status = 0;
    if (stats.verify_errors) {
        fprintf(stderr, "loadgen: %llu verify errors; first: %s\n",
                (unsigned long long)stats.verify_errors, stats.first_verify_error);
        status = 1;
    }
    if (!opt.hold_s && !stats.messages) {
        fputs("loadgen: no echo arrived in the measured window\n", stderr);
        status = 1;
    }
    if (stats.missed) {
        fprintf(stderr, "loadgen: %llu messages of the measured window were not received\n",
                (unsigned long long)stats.missed);
        status = 1;
    }
    if (stats.lost_connections) {
        fprintf(stderr, "loadgen: %llu of %u connections lost; first: %s\n",
                (unsigned long long)stats.lost_connections, opt.connections,
                stats.first_lost_reason);
        status = 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    setup();
    event_loop();
    return report();
}
