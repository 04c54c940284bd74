/**
 * The reason phrases of HTTP status codes (RFC 9110 §15), for the status lines this side writes.
 *
 * @module
 */

/** The registered codes (RFC 9110 §15, RFC 6585, RFC 7725, RFC 8297, RFC 8470) and their phrases. */
const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  511: "Network Authentication Required",
};

/**
 * The reason phrase of `status`, or "" for a code without a registered one: RFC 9112 §4 lets a
 * status line's reason be empty, and clients ignore it.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { statusText } from "./status_text.ts";
 * assertEquals(statusText(413), "Content Too Large");
 * assertEquals(statusText(299), "");
 * ```
 */
export function statusText(status: number): string {
  return REASON_PHRASES[status] ?? "";
}
