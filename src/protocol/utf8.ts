/**
 * UTF-8 validation of text messages and close reasons (RFC 6455 §8.1), failing with 1007.
 *
 * The WHATWG decoder in fatal mode rejects a sequence at its first impossible byte, so feeding it
 * pieces with `stream: true` fails as soon as an invalid sequence is seen, even when the sequence
 * starts in one piece and ends in the next.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { ProtocolError } from "./errors.ts";

/**
 * Up to how many bytes ASCII text is decoded in JS rather than by `TextDecoder`, whose cost per
 * call depends on the runtime. On Deno it is a call out of JS (about 350 ns for 16 bytes, against
 * 110 ns in JS), so JS pays up to 64 bytes; on Node the two cost about the same; on Bun
 * `TextDecoder` takes 50 ns, less than JS at any length (180 ns for 16 bytes).
 */
const ASCII_FAST_PATH_MAX_BYTES = globalThis.navigator?.userAgent?.startsWith("Bun/") ? 0 : 64;

const wholeDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function invalidUtf8(): ProtocolError {
  return new ProtocolError(CloseCode.InvalidPayload, "invalid UTF-8 in text");
}

/**
 * Decodes bytes that must be complete, valid UTF-8.
 *
 * @throws {ProtocolError} 1007 when they are not.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { decodeUtf8 } from "./utf8.ts";
 * assertEquals(decodeUtf8(new Uint8Array([0xce, 0xba])), "κ");
 * assertThrows(() => decodeUtf8(new Uint8Array([0xc0, 0x80])));
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length <= ASCII_FAST_PATH_MAX_BYTES) {
    let ascii = true;
    for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i] < 0x80;
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return wholeDecoder.decode(bytes);
  } catch {
    throw invalidUtf8();
  }
}

/**
 * Decodes a text message that arrives in pieces (fragments, or parts of one large frame).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Utf8StreamDecoder } from "./utf8.ts";
 * const decoder = new Utf8StreamDecoder();
 * // "€" is E2 82 AC, split across two pieces.
 * const text = decoder.push(new Uint8Array([0x61, 0xe2])) + decoder.push(new Uint8Array([0x82, 0xac]));
 * assertEquals(text + decoder.end(), "a€");
 * ```
 */
export class Utf8StreamDecoder {
  /** Made on first use: most connections never receive a fragmented or partial text. */
  #decoder: TextDecoder | null = null;

  /**
   * Decodes the next piece; an unfinished sequence at its end waits for the next piece.
   *
   * @throws {ProtocolError} 1007 as soon as the bytes so far cannot be UTF-8.
   */
  push(bytes: Uint8Array): string {
    try {
      this.#decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      return this.#decoder.decode(bytes, { stream: true });
    } catch {
      throw invalidUtf8();
    }
  }

  /**
   * Ends the text and makes the decoder ready for the next one.
   *
   * @throws {ProtocolError} 1007 when the text ends inside a sequence.
   */
  end(): string {
    try {
      return this.#decoder?.decode() ?? "";
    } catch {
      throw invalidUtf8();
    }
  }
}
