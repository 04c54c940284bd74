import { assertEquals } from "@std/assert";
import { statusText } from "../../src/protocol/status_text.ts";

Deno.test("status text: registered codes get RFC 9110's phrase, others an empty one", () => {
  assertEquals(
    [100, 200, 204, 304, 404, 413, 417, 431, 501, 505].map(statusText),
    [
      "Continue",
      "OK",
      "No Content",
      "Not Modified",
      "Not Found",
      "Content Too Large",
      "Expectation Failed",
      "Request Header Fields Too Large",
      "Not Implemented",
      "HTTP Version Not Supported",
    ],
  );
  assertEquals([299, 418, 600, 0, 1.5].map(statusText), ["", "", "", "", ""]);
});
