/**
 * The grammar of `Sec-WebSocket-Extensions` (RFC 6455 §9.1): reading a header value into
 * extensions and their parameters, and writing one extension back.
 *
 * @module
 */

import { isToken } from "./http1.ts";

/**
 * One extension of a `Sec-WebSocket-Extensions` list: its name and its parameters, in order.
 * A parameter without a value has `true` for one. Names stay as written (RFC 7692 writes them in
 * lower case, and they are compared exactly), and a parameter given twice appears twice, so that
 * whoever reads it can refuse it.
 *
 * @example `permessage-deflate; client_max_window_bits`
 * ```ts
 * import type { ExtensionHeader } from "./extensions.ts";
 * const offer: ExtensionHeader = {
 *   name: "permessage-deflate",
 *   params: [["client_max_window_bits", true]],
 * };
 * ```
 */
export interface ExtensionHeader {
  /** The extension's token, such as `permessage-deflate`. */
  name: string;
  /** The parameters in the order given; `true` stands for a parameter without a value. */
  params: [name: string, value: string | true][];
}

/** RFC 9110 §5.6.2: the characters of a token. */
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Reads a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1):
 *
 * ```
 * extension-list  = 1#extension
 * extension       = extension-token *( ";" extension-param )
 * extension-param = token [ "=" ( token | quoted-string ) ]
 * ```
 *
 * Spaces and tabs may surround `,`, `;` and `=`; empty list elements (`a, , b`) are skipped, as
 * RFC 9110 §5.6.1 asks of a recipient, so a value of only commas and spaces gives no extension. A
 * quoted value is unescaped and must then be a token itself (RFC 6455 §9.1). Several header lines
 * are one list once joined with `, `, as `Headers.get` joins them.
 *
 * @throws {SyntaxError} for a value that breaks the grammar; the message says what was expected
 * and where.
 *
 * @example Chrome's offer, and a second extension
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseExtensions } from "./extensions.ts";
 * assertEquals(parseExtensions('permessage-deflate; client_max_window_bits, x-foo; a="1"'), [
 *   { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
 *   { name: "x-foo", params: [["a", "1"]] },
 * ]);
 * ```
 */
export function parseExtensions(value: string): ExtensionHeader[] {
  return new ExtensionReader(value).list();
}

/** A cursor over one header value; each method reads one production of the grammar. */
class ExtensionReader {
  #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  list(): ExtensionHeader[] {
    const extensions: ExtensionHeader[] = [];
    for (;;) {
      this.#skipWhitespace();
      if (this.#at === this.#text.length) return extensions;
      if (this.#text[this.#at] === ",") {
        this.#at++;
        continue;
      }
      extensions.push(this.#extension());
      this.#skipWhitespace();
      if (this.#at === this.#text.length) return extensions;
      if (this.#text[this.#at] !== ",") throw this.#error('";" or ","');
      this.#at++;
    }
  }

  #extension(): ExtensionHeader {
    const name = this.#token("an extension name");
    const params: ExtensionHeader["params"] = [];
    this.#skipWhitespace();
    while (this.#text[this.#at] === ";") {
      this.#at++;
      this.#skipWhitespace();
      const param = this.#token("a parameter name");
      this.#skipWhitespace();
      if (this.#text[this.#at] !== "=") {
        params.push([param, true]);
        continue;
      }
      this.#at++;
      this.#skipWhitespace();
      params.push([param, this.#text[this.#at] === '"' ? this.#quoted() : this.#token("a value")]);
      this.#skipWhitespace();
    }
    return { name, params };
  }

  #token(what: string): string {
    const start = this.#at;
    while (this.#at < this.#text.length && TOKEN_CHAR.test(this.#text[this.#at])) this.#at++;
    if (this.#at === start) throw this.#error(what);
    return this.#text.slice(start, this.#at);
  }

  /** RFC 9110 §5.6.4: `"` … `"`, where `\` makes the next character literal. */
  #quoted(): string {
    const start = this.#at;
    let value = "";
    for (this.#at++; this.#at < this.#text.length; this.#at++) {
      const char = this.#text[this.#at];
      if (char === '"') {
        this.#at++;
        // RFC 6455 §9.1: once unescaped, a quoted value must be a token.
        if (!isToken(value)) {
          throw new SyntaxError(
            `Sec-WebSocket-Extensions: the quoted value at index ${start} is not a token once ` +
              `unescaped: ${JSON.stringify(value)}`,
          );
        }
        return value;
      }
      if (char === "\\") this.#at++;
      value += this.#text[this.#at] ?? "";
    }
    throw new SyntaxError(
      `Sec-WebSocket-Extensions: the quoted value at index ${start} is unterminated`,
    );
  }

  #skipWhitespace(): void {
    while (this.#text[this.#at] === " " || this.#text[this.#at] === "\t") this.#at++;
  }

  #error(expected: string): SyntaxError {
    const found = this.#at === this.#text.length ? "the end" : JSON.stringify(this.#text[this.#at]);
    return new SyntaxError(
      `Sec-WebSocket-Extensions: expected ${expected} at index ${this.#at}, found ${found}`,
    );
  }
}

/**
 * Writes one extension as it appears in `Sec-WebSocket-Extensions`: its name and parameters
 * joined by `"; "`, a parameter with a value as `name=value`.
 *
 * @throws {TypeError} for a name or value that is not a token: nothing is ever quoted.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatExtension } from "./extensions.ts";
 * const extension = formatExtension({
 *   name: "permessage-deflate",
 *   params: [["server_no_context_takeover", true], ["client_max_window_bits", "10"]],
 * });
 * assertEquals(extension, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
 * ```
 */
export function formatExtension(extension: ExtensionHeader): string {
  for (const token of [extension.name, ...extension.params.flat()]) {
    if (token !== true && !isToken(token)) {
      throw new TypeError(
        `an extension's names and values are tokens, not ${JSON.stringify(token)}`,
      );
    }
  }
  const params = extension.params.map(([name, value]) =>
    value === true ? name : `${name}=${value}`
  );
  return [extension.name, ...params].join("; ");
}
