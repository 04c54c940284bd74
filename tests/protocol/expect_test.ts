import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { HandshakeError } from "../../src/protocol/errors.ts";
import { continueResponse, expectsContinue } from "../../src/protocol/expect.ts";
import type { RequestHead } from "../../src/protocol/http1.ts";

function head(expect: string | null, version = "HTTP/1.1"): RequestHead {
  const headers = new Headers({ host: "a", "content-length": "5" });
  if (expect !== null) headers.set("expect", expect);
  return { method: "POST", target: "/", version, headers };
}

const CASES: [string | null, string, boolean][] = [
  [null, "HTTP/1.1", false],
  ["", "HTTP/1.1", false],
  [" , ", "HTTP/1.1", false],
  ["100-continue", "HTTP/1.1", true],
  ["100-Continue", "HTTP/1.1", true],
  [" 100-continue ,", "HTTP/1.1", true],
  ["100-continue, 100-continue", "HTTP/1.1", true],
  ["100-continue", "HTTP/1.2", true],
  ["100-continue", "HTTP/1.0", false],
];

for (const [expect, version, expected] of CASES) {
  Deno.test(`expect: ${version} with Expect ${JSON.stringify(expect)} ${expected ? "waits for" : "does not wait for"} 100 Continue`, () => {
    assertEquals(expectsContinue(head(expect, version)), expected);
  });
}

for (
  const [expect, unmet] of [
    ["200-ok", "200-ok"],
    ["100-continue, foo", "foo"],
    ["100-continue=1", "100-continue=1"],
    ["100-continuex", "100-continuex"],
    ["Foo", "foo"],
  ]
) {
  for (const version of ["HTTP/1.1", "HTTP/1.0"]) {
    Deno.test(`expect: answers ${version} with Expect ${JSON.stringify(expect)} with 417`, () => {
      const error = assertThrows(() => expectsContinue(head(expect, version)));
      assertInstanceOf(error, HandshakeError);
      assertEquals([error.status, error.message], [417, `unsupported expectation "${unmet}"`]);
    });
  }
}

Deno.test("expect: the 100 Continue response is its status line and a blank line, fresh each time", () => {
  const bytes = continueResponse();
  assertEquals(bytes, new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"));
  bytes[0] = 0;
  assertEquals(continueResponse()[0], 0x48);
});
