/**
 * HTTP/1.1 message heads (RFC 9112 §2–§5), requests and responses alike, parsed incrementally
 * from any split of the bytes.
 *
 * @module
 */

import { concatBytes } from "./bytes.ts";
import { HandshakeError, UpgradeFailedError } from "./errors.ts";
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_COUNT } from "./limits.ts";

/**
 * A parsed request line and header fields.
 *
 * @example
 * ```ts
 * import type { RequestHead } from "./http1.ts";
 * const head: RequestHead = { method: "GET", target: "/", version: "HTTP/1.1", headers: new Headers() };
 * ```
 */
export interface RequestHead {
  /** The method, case-sensitive as sent (`GET`). */
  method: string;
  /** The request target as sent (`/chat?room=1`). */
  target: string;
  /** The protocol version (`HTTP/1.1`). */
  version: string;
  /** The header fields; names are case-insensitive. */
  headers: Headers;
}

/**
 * A parsed status line and header fields.
 *
 * @example
 * ```ts
 * import type { ResponseHead } from "./http1.ts";
 * const head: ResponseHead = { version: "HTTP/1.1", status: 101, reason: "Switching Protocols", headers: new Headers() };
 * ```
 */
export interface ResponseHead {
  /** The protocol version (`HTTP/1.1`). */
  version: string;
  /** The three-digit status code. */
  status: number;
  /** The reason phrase, possibly empty; it carries no meaning (RFC 9112 §4). */
  reason: string;
  /** The header fields; names are case-insensitive. */
  headers: Headers;
}

/** What {@linkcode HeadParser.push} returns once the head is complete. */
export interface ParsedHead<Head> {
  /** The head. */
  head: Head;
  /** The bytes that came after the head: the first frames of a WebSocket. */
  rest: Uint8Array;
  /** The head's own bytes: a view, valid only until the chunk or the parser is used again. */
  bytes: Uint8Array;
}

/** Options of {@linkcode HeadParser}. */
export interface HeadParserOptions {
  /** The largest head in bytes, start line and headers. @default {16 KiB} */
  maxHeaderBytes?: number;
  /** The most header fields; they are counted before any is parsed. @default {100} */
  maxHeaderCount?: number;
}

// RFC 9112 §3: method SP request-target SP HTTP-version, single spaces; the target is visible
// ASCII (RFC 3986 §2: browsers percent-encode the rest).
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) (HTTP\/\d\.\d)$/;
// RFC 9112 §3.2: the four forms of a target, origin (`/x`), absolute (`scheme:…`), authority
// (`host:port`) and asterisk (`*`).
const TARGET_FORM = /^(?:\/|[A-Za-z][A-Za-z0-9+.-]*:|[^/?#@]+:\d*$|\*$)/;
// RFC 9112 §4: the reason phrase may be empty; some servers leave out the space before it too.
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 §5.5: field values are visible characters, obs-text, spaces and tabs.
// deno-lint-ignore no-control-regex -- control characters are exactly what it looks for
const INVALID_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** What follows a head that ends its chunk, as it usually does: shared, as it holds nothing. */
const NOTHING = new Uint8Array(0);
const LF = 0x0a;
const CR = 0x0d;

function badRequest(message: string): HandshakeError {
  return new HandshakeError(400, message);
}

function badResponse(message: string): UpgradeFailedError {
  return new UpgradeFailedError(null, `malformed response: ${message}`);
}

/**
 * Whether `text` is an HTTP token (RFC 9110 §5.6.2): a method, a header name, a subprotocol.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isToken } from "./http1.ts";
 * assert(isToken("chat.v2"));
 * assert(!isToken("a b"));
 * ```
 */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * Whether `text` may be a header field's value (RFC 9110 §5.5): no control characters but tab,
 * so no CR or LF can end the line early and start a field of its own.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isFieldValue } from "./http1.ts";
 * assert(isFieldValue("max-age=60; path=/"));
 * assert(!isFieldValue("a\r\nSet-Cookie: b"));
 * ```
 */
export function isFieldValue(text: string): boolean {
  return !INVALID_VALUE.test(text);
}

/** Decodes bytes one to one into code points (ISO-8859-1), as header fields are octets. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** The index just past the blank line ending the head, searching from `from`, or -1. */
function findHeadEnd(bytes: Uint8Array, from: number, to: number): number {
  for (let i = bytes.indexOf(LF, from); i !== -1 && i < to; i = bytes.indexOf(LF, i + 1)) {
    if (i + 1 < to && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < to && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** How many line ends (LF) `bytes` holds from `from` to `to`. */
function countLineEnds(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let i = bytes.indexOf(LF, from); i !== -1 && i < to; i = bytes.indexOf(LF, i + 1)) count++;
  return count;
}

/** The lines of a complete head, without their line ends or the blank line that ends it. */
function headLines(bytes: Uint8Array): string[] {
  // RFC 9112 §2.2: a bare LF may end a line; the CR before it is optional.
  const lines = latin1(bytes).split("\n").map((line) =>
    line.endsWith("\r") ? line.slice(0, -1) : line
  );
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * The lines of a complete request head, as {@linkcode headLines}, but each must end in CRLF.
 * RFC 9112 §2.2 lets a server take a bare LF as a line end and a bare CR as a space; where a
 * proxy in front reads them otherwise, the two see different requests in the same bytes
 * (request smuggling), so a server refuses both.
 */
function requestLines(bytes: Uint8Array): string[] {
  const lines = latin1(bytes).split("\r\n");
  if (lines.some((line) => line.includes("\r") || line.includes("\n"))) {
    throw badRequest("bare CR or LF in the request head");
  }
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The header fields of `lines` (RFC 9112 §5); `malformed` makes the error for a bad line. */
function parseFields(lines: string[], malformed: (message: string) => Error): Headers {
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    // RFC 9112 §5.2: obsolete line folding is rejected; §5.1: no space before the colon.
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
      throw malformed(`malformed header line ${JSON.stringify(line.slice(0, 40))}`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (INVALID_VALUE.test(value)) throw malformed("control character in a header value");
    headers.append(line.slice(0, colon), value);
  }
  return headers;
}

/**
 * Parses a complete request head (without the bytes after it).
 *
 * @throws {HandshakeError} 400 for anything malformed: a request line or field line that breaks
 * RFC 9112 §3 or §5, a line ending in anything but CRLF, or a CR anywhere else.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseRequestHead } from "./http1.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /chat HTTP/1.1\r\nHost: a\r\n\r\n"));
 * assertEquals([head.method, head.target, head.headers.get("host")], ["GET", "/chat", "a"]);
 * ```
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  const [first = "", ...fields] = requestLines(bytes);
  const requestLine = REQUEST_LINE.exec(first);
  if (!requestLine || !TARGET_FORM.test(requestLine[2])) throw badRequest("malformed request line");
  const headers = parseFields(fields, badRequest);
  return { method: requestLine[1], target: requestLine[2], version: requestLine[3], headers };
}

/**
 * Parses a complete response head (without the bytes after it).
 *
 * @throws {UpgradeFailedError} with status null for anything malformed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseResponseHead } from "./http1.ts";
 * const head = parseResponseHead(new TextEncoder().encode("HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n"));
 * assertEquals([head.status, head.reason, head.headers.get("a")], [404, "Not Found", "b"]);
 * ```
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead {
  const [first = "", ...fields] = headLines(bytes);
  const statusLine = STATUS_LINE.exec(first);
  if (!statusLine) throw badResponse(`status line ${JSON.stringify(first.slice(0, 40))}`);
  const headers = parseFields(fields, badResponse);
  return {
    version: statusLine[1],
    status: Number(statusLine[2]),
    reason: statusLine[3] ?? "",
    headers,
  };
}

/**
 * Collects an HTTP head from chunks, however the bytes are split, and returns it with whatever
 * followed it in the last chunk. {@linkcode RequestHeadParser} and
 * {@linkcode ResponseHeadParser} are this with their start line's parser.
 *
 * Both limits are checked on the bytes alone, before anything is parsed: the size as bytes
 * arrive, and the number of header fields by counting line ends, so a flood of fields is refused
 * as soon as one field too many has ended, complete head or not.
 *
 * @example A head parser for any start line
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HeadParser } from "./http1.ts";
 * const parser = new HeadParser((bytes) => bytes.length, (what) => new Error(`head has ${what}`));
 * assertEquals(parser.push(new TextEncoder().encode("X\r\n\r\n!"))?.head, 5);
 * ```
 */
export class HeadParser<Head> {
  readonly #parse: (bytes: Uint8Array) => Head;
  readonly #tooLarge: (what: string) => Error;
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  /** The head so far, when it did not come in one chunk; it grows up to the limit. */
  #buffer: Uint8Array | null = null;
  #filled = 0;
  /** Line ends in the buffer so far. */
  #lineEnds = 0;

  /**
   * Creates a parser for one head: `parse` reads a complete head, `tooLarge` makes the error for
   * a head over a limit from what it has too much of ("more than 16384 bytes").
   */
  constructor(
    parse: (bytes: Uint8Array) => Head,
    tooLarge: (what: string) => Error,
    options: HeadParserOptions = {},
  ) {
    this.#parse = parse;
    this.#tooLarge = tooLarge;
    this.#maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.#maxHeaderCount = options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
  }

  /**
   * Adds bytes; returns the head and the bytes after it once the head is complete, else null.
   * `rest` is a copy, so `chunk` may be reused afterwards.
   *
   * @throws {Error} `tooLarge()` when the head outgrows a limit, or what `parse` throws.
   */
  push(chunk: Uint8Array): ParsedHead<Head> | null {
    const max = this.#maxHeaderBytes;
    if (this.#filled === 0) {
      // Usually the whole head comes in one read: parse it where it is.
      const end = findHeadEnd(chunk, 0, Math.min(chunk.length, max));
      if (end !== -1) {
        this.#countFields(countLineEnds(chunk, 0, end), true);
        const bytes = chunk.subarray(0, end);
        const rest = end === chunk.length ? NOTHING : chunk.slice(end);
        return { head: this.#parse(bytes), rest, bytes };
      }
    }
    const before = this.#filled;
    const taken = Math.min(max - before, chunk.length);
    if (this.#buffer === null || this.#buffer.length < before + taken) {
      const grown = new Uint8Array(Math.min(max, Math.max(1024, (before + taken) * 2)));
      if (this.#buffer) grown.set(this.#buffer.subarray(0, before));
      this.#buffer = grown;
    }
    const buffer = this.#buffer;
    buffer.set(chunk.subarray(0, taken), before);
    this.#filled += taken;
    const end = findHeadEnd(buffer, Math.max(0, before - 2), this.#filled);
    this.#lineEnds += countLineEnds(buffer, before, end === -1 ? this.#filled : end);
    this.#countFields(this.#lineEnds, end !== -1);
    if (end === -1) {
      if (this.#filled === max) throw this.#tooLarge(`more than ${max} bytes`);
      return null;
    }
    const bytes = buffer.subarray(0, end);
    const head = this.#parse(bytes);
    // Joining two parts makes a new array, which outlives the caller's reused read buffer.
    const rest = concatBytes([buffer.subarray(end, this.#filled), chunk.subarray(taken)]);
    return { head, rest, bytes };
  }

  /**
   * Refuses a head with too many header fields, from its line ends alone: the start line ends
   * with one, every field line ends with one, and a complete head's blank line with the last.
   */
  #countFields(lineEnds: number, complete: boolean): void {
    const fields = lineEnds - (complete ? 2 : 1);
    if (fields > this.#maxHeaderCount) {
      throw this.#tooLarge(`more than ${this.#maxHeaderCount} header fields`);
    }
  }
}

/**
 * Collects a request head from chunks: what a server reads first.
 *
 * @throws {HandshakeError} from `push`: 431 when the head outgrows either limit, 400 when it
 * is malformed.
 *
 * @example The head and the first frame byte in one read
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RequestHeadParser } from "./http1.ts";
 * const parser = new RequestHeadParser();
 * assertEquals(parser.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHo")), null);
 * const parsed = parser.push(new TextEncoder().encode("st: a\r\n\r\n!"));
 * assertEquals(parsed?.head.target, "/");
 * assertEquals(parsed?.rest, new Uint8Array([0x21]));
 * ```
 */
export class RequestHeadParser extends HeadParser<RequestHead> {
  /** Creates a parser for one request. */
  constructor(options: HeadParserOptions = {}) {
    super(
      parseRequestHead,
      (what) => new HandshakeError(431, `request head with ${what}`),
      options,
    );
  }
}

/**
 * Collects a response head from chunks: what a client reads after its upgrade request.
 *
 * @throws {UpgradeFailedError} from `push`, with status null, when the head outgrows either
 * limit or is malformed.
 *
 * @example The 101 and the server's first byte in one read
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ResponseHeadParser } from "./http1.ts";
 * const parser = new ResponseHeadParser();
 * assertEquals(parser.push(new TextEncoder().encode("HTTP/1.1 101 Switching")), null);
 * const parsed = parser.push(new TextEncoder().encode(" Protocols\r\n\r\n!"));
 * assertEquals(parsed?.head.status, 101);
 * assertEquals(parsed?.rest, new Uint8Array([0x21]));
 * ```
 */
export class ResponseHeadParser extends HeadParser<ResponseHead> {
  /** Creates a parser for one response. */
  constructor(options: HeadParserOptions = {}) {
    super(
      parseResponseHead,
      (what) => new UpgradeFailedError(null, `the response head has ${what}`),
      options,
    );
  }
}
