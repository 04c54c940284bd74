/**
 * The test page: a browser client for the server it is served from. Plain HTML, CSS and JS in
 * one string, no build step.
 *
 * @module
 */

/**
 * The HTML of the test page. It connects to `ws://` (or `wss://`) on the host it came from (on
 * `/rooms/<room>` when a room is given, for a server run with `--rooms`), and offers
 * connect/disconnect, the connection state, a text box to send, replies with timestamps, and a
 * burst of messages with the throughput it reached.
 *
 * @example Serve it from another server
 * ```ts
 * import { TEST_PAGE } from "./page.ts";
 * const response = new Response(TEST_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
 * console.log(response.status); // 200
 * ```
 */
export const TEST_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WebSocket test page</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; }
  fieldset { border: 1px solid #8888; border-radius: .5rem; margin: 0 0 1rem; }
  .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .3rem 0; }
  input[type=text], input[type=url] { flex: 1; min-width: 12rem; padding: .3rem; }
  input[type=number] { width: 6rem; padding: .3rem; }
  button { padding: .3rem .8rem; }
  #state { font-weight: bold; }
  #state[data-state=open] { color: #1a7f37; }
  #state[data-state=closed] { color: #cf222e; }
  #log { height: 22rem; overflow: auto; border: 1px solid #8888; border-radius: .5rem;
         padding: .5rem; font-family: ui-monospace, monospace; font-size: .85rem; margin: 0; }
  #log .sent { color: #0969da; }
  #log .received { color: #1a7f37; }
  #log .event { color: #8250df; }
  #log time { opacity: .6; margin-right: .5rem; }
</style>
</head>
<body>
<h1>WebSocket test page</h1>
<fieldset>
  <legend>Connection</legend>
  <div class="row">
    <input id="url" type="url" aria-label="Server URL">
    <button id="connect">Connect</button>
    <button id="disconnect" disabled>Disconnect</button>
  </div>
  <div class="row">
    <input id="room" type="text" placeholder="Room (for a server run with --rooms), e.g. lobby"
      aria-label="Room">
  </div>
  <div class="row">State: <span id="state" data-state="closed">closed</span></div>
</fieldset>
<fieldset>
  <legend>Send</legend>
  <form id="send-form" class="row">
    <input id="message" type="text" placeholder="Type a message" aria-label="Message" disabled>
    <button id="send" disabled>Send</button>
  </form>
  <div class="row">
    Burst of <input id="burst-count" type="number" min="1" max="100000" value="1000"
      aria-label="Messages in the burst"> messages
    <button id="burst" disabled>Send burst</button>
    <span id="burst-result"></span>
  </div>
</fieldset>
<div class="row"><strong>Log</strong> <button id="clear">Clear</button></div>
<pre id="log" aria-live="polite"></pre>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const base = scheme + "//" + (location.host || "localhost:8000") + "/";
$("url").value = base;
// A room is a path: a server run with --rooms joins each socket to the room of its path.
$("room").oninput = () => {
  const room = $("room").value.trim();
  $("url").value = base + (room ? "rooms/" + encodeURIComponent(room) : "");
};
let socket = null;
let burst = null;

function log(kind, text) {
  const line = document.createElement("div");
  line.className = kind;
  const time = document.createElement("time");
  time.textContent = new Date().toISOString().slice(11, 23);
  line.append(time, text);
  $("log").append(line);
  while ($("log").childElementCount > 500) $("log").firstElementChild.remove();
  $("log").scrollTop = $("log").scrollHeight;
}

function setState(state) {
  $("state").textContent = state;
  $("state").dataset.state = state;
  const open = state === "open";
  for (const id of ["message", "send", "burst"]) $(id).disabled = !open;
  $("room").disabled = state === "open" || state === "connecting";
  $("disconnect").disabled = state !== "open" && state !== "connecting";
  $("connect").disabled = state === "open" || state === "connecting";
}

$("connect").onclick = () => {
  setState("connecting");
  socket = new WebSocket($("url").value);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { setState("open"); log("event", "connected to " + socket.url); };
  socket.onmessage = (event) => {
    if (burst) {
      if (++burst.received === burst.count) {
        const seconds = (performance.now() - burst.start) / 1000;
        const rate = Math.round(burst.count / seconds);
        $("burst-result").textContent = burst.count + " replies in " +
          (seconds * 1000).toFixed(1) + " ms: " + rate + " msgs/s";
        log("event", "burst done: " + rate + " msgs/s");
        burst = null;
      }
      return;
    }
    const text = typeof event.data === "string"
      ? event.data : "[" + event.data.byteLength + " bytes of binary]";
    log("received", "\\u2190 " + text);
  };
  socket.onclose = (event) => {
    setState("closed");
    burst = null;
    log("event", "closed: code " + event.code + (event.reason ? " (" + event.reason + ")" : "") +
      (event.wasClean ? ", clean" : ", not clean"));
  };
  socket.onerror = () => log("event", "error");
};

$("disconnect").onclick = () => { setState("closing"); socket.close(1000, "bye"); };

$("send-form").onsubmit = (event) => {
  event.preventDefault();
  const text = $("message").value;
  socket.send(text);
  log("sent", "\\u2192 " + text);
  $("message").value = "";
};

$("burst").onclick = () => {
  const count = Math.max(1, Math.min(100000, Number($("burst-count").value) || 1));
  burst = { count, received: 0, start: performance.now() };
  $("burst-result").textContent = "sending " + count + "\\u2026";
  for (let i = 0; i < count; i++) socket.send("burst " + i);
};

$("clear").onclick = () => { $("log").textContent = ""; };
setState("closed");
</script>
</body>
</html>
`;
