import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
} from "../../src/protocol/close.ts";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { closePayload, INVALID_CLOSE_CODES, VALID_CLOSE_CODES } from "../helpers/frames.ts";

Deno.test("close: codes allowed on the wire are exactly those of RFC 6455 §7.4", () => {
  for (const code of VALID_CLOSE_CODES) assertEquals(isValidCloseCode(code), true, `${code}`);
  for (const code of INVALID_CLOSE_CODES) assertEquals(isValidCloseCode(code), false, `${code}`);
});

Deno.test("close: parses every valid code with its reason", () => {
  for (const code of VALID_CLOSE_CODES) {
    assertEquals(parseClosePayload(closePayload(code, "κόσμε")), { code, reason: "κόσμε" });
  }
});

Deno.test("close: an empty payload means 1005", () => {
  assertEquals(parseClosePayload(new Uint8Array()), { code: 1005, reason: "" });
});

function closeCodeOf(payload: Uint8Array): number {
  const error = assertThrows(() => parseClosePayload(payload));
  assertInstanceOf(error, ProtocolError);
  return error.closeCode;
}

Deno.test("close: rejects a one-byte payload with 1002", () => {
  assertEquals(closeCodeOf(new Uint8Array([0x03])), 1002);
});

Deno.test("close: rejects codes not allowed on the wire with 1002", () => {
  for (const code of INVALID_CLOSE_CODES) {
    assertEquals(closeCodeOf(closePayload(code)), 1002, `${code}`);
  }
});

Deno.test("close: rejects a reason that is not UTF-8 with 1007", () => {
  assertEquals(closeCodeOf(closePayload(1000, new Uint8Array([0xce, 0xba, 0xff]))), 1007);
});

Deno.test("close: encodes code and reason, and refuses what may not be sent", () => {
  assertEquals(encodeClosePayload(4000, "ok"), closePayload(4000, "ok"));
  assertEquals(encodeClosePayload(1000, "x".repeat(123)).length, 125);
  assertThrows(() => encodeClosePayload(1000, "x".repeat(124)), RangeError);
  assertThrows(() => encodeClosePayload(1000, "é".repeat(62)), RangeError);
  for (const code of [1004, 1005, 1006, 1015, 2000, 5000]) {
    assertThrows(() => encodeClosePayload(code), RangeError);
  }
});
