/**
 * A real browser against the real CLI: headless Chromium loads the test page the CLI serves and
 * uses it as a person would, runs a page script that round-trips large messages, and agrees on
 * permessage-deflate with the CLI's `--deflate`.
 */

import { assertEquals, assertMatch } from "@std/assert";
import { launchBrowser, waitForText } from "../helpers/browser.ts";
import { TestClient } from "../helpers/client.ts";
import { startCli } from "../helpers/server.ts";
import type { Page } from "playwright-core";
import {
  assertEchoReport,
  DEFAULT_DEFLATE_RESPONSE,
  type JsonMessage,
  messagesAsJson,
} from "./echo_check.ts";
import { CLIENT_CLOSE, COMPRESSIBLE_MESSAGES, type EchoReport } from "./echo_client.ts";

/** Text with 1-, 2-, 3- and 4-byte UTF-8 characters and markup that must stay text. */
const TYPED_MESSAGE = "héllo wörld € 😀 <b>not bold</b>";
const BURST_COUNT = 200;

/** The log's lines of one kind (`sent`, `received`, `event`), without their timestamps. */
async function logLines(page: Page, kind: "sent" | "received" | "event"): Promise<string[]> {
  const lines = await page.locator(`#log > div.${kind}`).allTextContents();
  return lines.map((line) => {
    const timestamp = /^\d\d:\d\d:\d\d\.\d\d\d/.exec(line);
    if (!timestamp) throw new Error(`log line without a timestamp: ${JSON.stringify(line)}`);
    return line.slice(timestamp[0].length);
  });
}

/**
 * Runs in the page before its own script: keeps every message each WebSocket receives, in order,
 * in `globalThis.receivedMessages`, so the test can check what the page only counts.
 */
function recordReceivedMessages(): void {
  const received: unknown[] = [];
  Object.assign(globalThis, { receivedMessages: received });
  const NativeWebSocket = WebSocket;
  globalThis.WebSocket = class extends NativeWebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.addEventListener("message", (event) => received.push(event.data));
    }
  };
}

Deno.test("browser: the test page connects, echoes a typed message and a burst of 200, and closes with 1000", async () => {
  await using server = await startCli();
  await using browser = await launchBrowser();
  const { page } = browser;
  const pageUrl = `http://127.0.0.1:${server.port}/`;
  const socketUrl = `ws://127.0.0.1:${server.port}/`;
  await page.addInitScript(recordReceivedMessages);
  await page.goto(pageUrl);
  assertEquals(await page.title(), "WebSocket test page");
  assertEquals(await page.inputValue("#url"), socketUrl);
  assertEquals(await page.textContent("#state"), "closed");

  await page.click("#connect");
  await waitForText(page, "#state", "open");
  assertEquals(await logLines(page, "event"), [`connected to ${socketUrl}`]);

  await page.fill("#message", TYPED_MESSAGE);
  await page.click("#send");
  await page.locator("#log > div.received").waitFor();
  assertEquals(await logLines(page, "sent"), [`\u2192 ${TYPED_MESSAGE}`]);
  assertEquals(await logLines(page, "received"), [`\u2190 ${TYPED_MESSAGE}`]);
  assertEquals(await page.inputValue("#message"), "");

  await page.fill("#burst-count", String(BURST_COUNT));
  await page.click("#burst");
  const burstResult = await waitForText(page, "#burst-result", new RegExp(`^${BURST_COUNT} `));
  assertMatch(burstResult, new RegExp(`^${BURST_COUNT} replies in \\d+\\.\\d ms: \\d+ msgs/s$`));
  const burstReplies = Array.from({ length: BURST_COUNT }, (_, i) => `burst ${i}`);
  assertEquals(await page.evaluate("receivedMessages"), [TYPED_MESSAGE, ...burstReplies]);
  // The page counts burst replies instead of logging them.
  assertEquals(await logLines(page, "received"), [`\u2190 ${TYPED_MESSAGE}`]);

  await page.click("#disconnect");
  await waitForText(page, "#state", "closed");
  const [connected, burstDone, ...rest] = await logLines(page, "event");
  assertEquals(connected, `connected to ${socketUrl}`);
  assertMatch(burstDone, /^burst done: \d+ msgs\/s$/);
  // The server echoes the page's close code and reason, and the close handshake completes.
  assertEquals(rest, ["closed: code 1000 (bye), clean"]);
  assertEquals(await page.isDisabled("#connect"), false);
  assertEquals(await page.isDisabled("#send"), true);
});

/** What came back for one message the page script sent. */
interface Echo {
  /** `string`, `ArrayBuffer`, or whatever else arrived. */
  type: string;
  /** The UTF-8 length of a string, or the byte length of a buffer. */
  bytes: number;
  /** The first index where the reply differs from what was sent; -1 when identical. */
  firstDifference: number;
}

/**
 * Runs in the page: sends a 1 MiB text message (mixed 1–4 byte UTF-8 characters, so code points
 * straddle the server's read chunks) and a 1 MiB + 3 byte binary message (pseudo-random bytes; the
 * odd tail is what 32-bit unmasking can get wrong), and compares what comes back.
 */
async function roundTripLargeMessages(
  url: string,
): Promise<{ sent: number[]; text: Echo; binary: Echo; close: string }> {
  const pattern = "aé€😀"; // 1 + 2 + 3 + 4 bytes
  const text = pattern.repeat(104_857) + "012345"; // 104 857 × 10 + 6 = 1 MiB
  const binary = new Uint8Array(1024 * 1024 + 3);
  let seed = 0x9e3779b9;
  for (let i = 0; i < binary.length; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    binary[i] = seed & 0xff;
  }

  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const replies: unknown[] = [];
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`timed out after 10 s with ${replies.length} of 2 replies`));
      socket.close();
    }, 10_000);
    socket.onopen = () => {
      socket.send(text);
      socket.send(binary);
    };
    socket.onmessage = (event) => {
      replies.push(event.data);
      if (replies.length === 2) socket.close(1000, "done");
    };
    socket.onclose = (event) => {
      clearTimeout(timer);
      resolve(`${event.code} ${event.reason} ${event.wasClean ? "clean" : "not clean"}`);
    };
  });
  const close = await done;

  const [textReply, binaryReply] = replies;
  const typeOf = (value: unknown) =>
    typeof value === "string" ? "string" : Object.prototype.toString.call(value).slice(8, -1);
  const firstDifference = (sent: ArrayLike<number>, got: ArrayLike<number>) => {
    for (let i = 0; i < Math.max(sent.length, got.length); i++) {
      if (sent[i] !== got[i]) return i;
    }
    return -1;
  };
  const echo = (sent: Uint8Array, reply: unknown): Echo => {
    const got = typeof reply === "string"
      ? new TextEncoder().encode(reply)
      : reply instanceof ArrayBuffer
      ? new Uint8Array(reply)
      : new Uint8Array();
    return { type: typeOf(reply), bytes: got.length, firstDifference: firstDifference(sent, got) };
  };
  const textBytes = new TextEncoder().encode(text);
  return {
    sent: [textBytes.length, binary.length],
    text: echo(textBytes, textReply),
    binary: echo(binary, binaryReply),
    close,
  };
}

Deno.test("browser: the test page joins a room of a --rooms server, hears another client of the room, and what it sends reaches them both", async () => {
  await using server = await startCli("deno", ["--rooms"]);
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await page.fill("#room", "lobby");
  const roomUrl = `ws://127.0.0.1:${server.port}/rooms/lobby`;
  assertEquals(await page.inputValue("#url"), roomUrl);
  await page.click("#connect");
  await waitForText(page, "#state", "open");
  assertEquals(await page.isDisabled("#room"), true);
  await using other = await TestClient.open(roomUrl);
  // The other client's own message comes back to it once the room has both.
  other.send("hi from a client");
  assertEquals(await other.next(), "hi from a client");
  await page.locator("#log > div.received").waitFor();
  assertEquals(await logLines(page, "received"), ["\u2190 hi from a client"]);
  await page.fill("#message", "hi from the page");
  await page.click("#send");
  assertEquals(await other.next(), "hi from the page");
  await page.locator("#log > div.received >> nth=1").waitFor();
  assertEquals(await logLines(page, "received"), [
    "\u2190 hi from a client",
    "\u2190 hi from the page",
  ]);
});

Deno.test("browser: a page script gets a 1 MiB text message and a binary message back byte-identical", async () => {
  await using server = await startCli();
  await using browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  const result = await page.evaluate(roundTripLargeMessages, `ws://127.0.0.1:${server.port}/`);
  assertEquals(result, {
    sent: [1024 * 1024, 1024 * 1024 + 3],
    text: { type: "string", bytes: 1024 * 1024, firstDifference: -1 },
    binary: { type: "ArrayBuffer", bytes: 1024 * 1024 + 3, firstDifference: -1 },
    close: "1000 done clean",
  });
});

/**
 * Runs in the page: opens a WebSocket to `url`, sends every one of `messages` at once, closes with
 * `close` after the last echo, and reports as `echo_client.ts` does.
 */
async function exchangeInPage({ url, messages, close }: {
  url: string;
  messages: JsonMessage[];
  close: { code: number; reason: string };
}): Promise<EchoReport> {
  const sent = messages.map((message) =>
    "text" in message
      ? message.text
      : Uint8Array.from(atob(message.binary), (char) => char.charCodeAt(0))
  );
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const replies: unknown[] = [];
  let extensions = "";
  const closeEvent = await new Promise<CloseEvent>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`timed out after 30 s with ${replies.length} of ${sent.length} replies`));
      socket.close();
    }, 30_000);
    socket.onopen = () => {
      extensions = socket.extensions;
      for (const message of sent) socket.send(message);
    };
    socket.onmessage = (event) => {
      replies.push(event.data);
      if (replies.length === sent.length) socket.close(close.code, close.reason);
    };
    socket.onclose = (event) => {
      clearTimeout(timer);
      resolve(event);
    };
  });
  const echoes = replies.map((reply, i) => {
    if (typeof reply === "string") {
      const bytes = new TextEncoder().encode(reply).length;
      return { type: "text" as const, bytes, identical: reply === sent[i] };
    }
    const got = new Uint8Array(reply as ArrayBuffer);
    const expected = sent[i];
    const identical = typeof expected !== "string" && got.length === expected.length &&
      got.every((byte, j) => byte === expected[j]);
    return { type: "binary" as const, bytes: got.length, identical };
  });
  const { code, reason, wasClean } = closeEvent;
  return { extensions, echoes, close: { code, reason, wasClean } };
}

Deno.test("browser: the page's socket agrees on permessage-deflate with --deflate, and a page script gets 160 compressible messages back exact", async () => {
  await using server = await startCli("deno", ["--deflate"]);
  await using browser = await launchBrowser();
  const { page } = browser;
  const socketUrl = `ws://127.0.0.1:${server.port}/`;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await page.click("#connect");
  await waitForText(page, "#state", "open");
  // The page's own socket, a `let` of its script.
  assertEquals(await page.evaluate("socket.extensions"), DEFAULT_DEFLATE_RESPONSE);

  const report = await page.evaluate(exchangeInPage, {
    url: socketUrl,
    messages: messagesAsJson(COMPRESSIBLE_MESSAGES),
    close: CLIENT_CLOSE,
  });
  assertEchoReport(report, COMPRESSIBLE_MESSAGES, DEFAULT_DEFLATE_RESPONSE);
});
