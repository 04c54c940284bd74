#!/usr/bin/env bash
# Checks bench/loadgen.c end to end: builds it, starts throwaway Deno echo servers (written to a
# temporary directory, not kept), and asserts that correct echoes pass and wrong ones are caught.
# Run from anywhere: bash bench/loadgen_test.sh   (needs cc, zlib and deno; takes about 45 s)
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
loadgen=$bench/.build/loadgen
mkdir -p "$bench/.build"
cc -O2 -Wall -Wextra -Werror -o "$loadgen" "$bench/loadgen.c" -lz

work=$(mktemp -d)
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A TCP echo; with an argument N it flips bit 0 of byte N of each connection's stream.
cat >"$work/raw_echo.ts" <<'EOF'
const flipAt = Number(Deno.args[0] ?? -1);
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
async function echo(conn: Deno.TcpConn) {
  const buffer = new Uint8Array(65536);
  let offset = 0;
  try {
    for (let n; (n = await conn.read(buffer)) !== null; offset += n) {
      if (flipAt >= offset && flipAt < offset + n) buffer[flipAt - offset] ^= 1;
      for (let written = 0; written < n;) {
        written += await conn.write(buffer.subarray(written, n));
      }
    }
  } catch { /* the load generator hung up */ }
  try { conn.close(); } catch { /* already closed */ }
}
for await (const conn of listener) echo(conn);
EOF

# Deno.upgradeWebSocket echo; "flip" changes the 100th message, "type" echoes it as the other type.
cat >"$work/ws_echo.ts" <<'EOF'
const fault = Deno.args[0] ?? "";
const options = { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) };
Deno.serve(options, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  let count = 0;
  socket.onmessage = ({ data }) => {
    if (++count === 100 && fault === "flip") {
      data = typeof data === "string"
        ? (data[0] === "a" ? "b" : "a") + data.slice(1)
        : new Uint8Array(data).map((byte, i) => i ? byte : byte ^ 1);
    } else if (count === 100 && fault === "type") {
      data = typeof data === "string" ? new TextEncoder().encode(data) : "x";
    }
    socket.send(data);
  };
  return response;
});
EOF

# A room: every message to every connection, the sender too. 300 ms after the first message, once,
# for one connection other than the sender: "drop" leaves the message out, "dup" sends it twice,
# "flip" changes its last byte.
cat >"$work/ws_room.ts" <<'EOF'
const fault = Deno.args[0] ?? "";
const options = { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) };
const members = new Set<WebSocket>();
let first = 0;
let done = false;
Deno.serve(options, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => members.add(socket);
  socket.onclose = () => members.delete(socket);
  socket.onmessage = ({ data }) => {
    first ||= performance.now();
    let faulty = !done && fault !== "" && performance.now() - first > 300;
    for (const member of members) {
      if (!faulty || member === socket) {
        member.send(data);
        continue;
      }
      faulty = false;
      done = true;
      if (fault === "dup") member.send(data), member.send(data);
      if (fault === "flip") member.send(data.slice(0, -1) + (data.endsWith("a") ? "b" : "a"));
    }
  };
  return response;
});
EOF

# start_server VAR script.ts [args]: starts a server, stores its port in VAR.
start_server() {
  local var=$1 script=$2
  shift 2
  deno run --allow-net "$work/$script" "$@" >"$work/$var.port" 2>"$work/$var.log" &
  server_pids+=($!)
  for _ in $(seq 100); do
    [ -s "$work/$var.port" ] && break
    sleep 0.1
  done
  printf -v "$var" '%s' "$(head -1 "$work/$var.port")"
}

# This server's CLI as `start_cli NAME [options]`, on a free port, which NAME then holds.
root=$(cd "$bench/.." && pwd)
start_cli() {
  local name=$1
  shift
  deno run --allow-net --import-map="$root/tests/import_map.json" "$root/mod.ts" --hostname \
    127.0.0.1 --port 0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  server_pids+=($!)
  for _ in $(seq 100); do
    grep -q Listening "$work/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  printf -v "$name" '%s' "$(sed -nE 's|.*http://127.0.0.1:([0-9]+)/.*|\1|p' "$work/$name.out" | head -1)"
}
# With permessage-deflate, for --deflate; and rooms (--rooms), twice: two servers sharing nothing.
start_cli deflate --deflate
start_cli rooms --rooms
start_cli rooms2 --rooms

start_server raw raw_echo.ts
start_server raw_flip raw_echo.ts 100000
start_server ws ws_echo.ts
start_server ws_flip ws_echo.ts flip
start_server ws_type ws_echo.ts type
start_server room ws_room.ts
start_server room_drop ws_room.ts drop
start_server room_dup ws_room.ts dup
start_server room_flip ws_room.ts flip

failures=0
# expect STATUS FIELD=VALUE... -- loadgen options: runs loadgen, checks exit status and fields.
expect() {
  local status=$1
  shift
  local checks=()
  while [ "$1" != "--" ]; do checks+=("$1"); shift; done
  shift
  local output actual=0
  output=$("$loadgen" --duration 0.5 --warmup 0.2 "$@" 2>"$work/stderr") || actual=$?
  local ok=1
  [ "$actual" = "$status" ] || ok=0
  for check in "${checks[@]}"; do
    local field=${check%%[=<>]*} value=${check#*[=<>]} got
    got=$(grep -o "\"$field\":[0-9.]*" <<<"$output" | cut -d: -f2)
    case $check in
      *'>'*) awk -v a="$got" -v b="$value" 'BEGIN { exit !(a > b) }' || ok=0 ;;
      *'<'*) awk -v a="$got" -v b="$value" 'BEGIN { exit !(a < b) }' || ok=0 ;;
      *) [ "$got" = "$value" ] || ok=0 ;;
    esac
  done
  if [ $ok = 1 ]; then
    echo "ok   $*"
  else
    echo "FAIL $* (exit $actual, wanted $status)"
    echo "     $output"
    sed 's/^/     /' "$work/stderr"
    failures=$((failures + 1))
  fi
}

clean="verify_errors=0 lost_connections=0 messages>0"
for size in 16 1024 65536; do
  for depth in 1 16; do
    expect 0 $clean -- --mode raw --port "$raw" --size "$size" --depth "$depth" --connections 8
    expect 0 $clean -- --mode ws --port "$ws" --size "$size" --depth "$depth" --connections 8
  done
done
expect 0 $clean -- --mode ws --port "$ws" --size 1048576 --type binary --depth 2 --connections 2
expect 0 $clean -- --mode raw --port "$raw" --size 1048576 --type binary --depth 2 --connections 2
expect 0 $clean -- --mode ws --port "$ws" --size 125 --type binary --connections 200
expect 1 verify_errors=4 lost_connections=4 -- --mode raw --port "$raw_flip" --connections 4
expect 1 verify_errors=4 -- --mode raw --port "$raw_flip" --connections 4 --size 65536 --type binary
expect 1 verify_errors=4 -- --mode ws --port "$ws_flip" --connections 4
expect 1 verify_errors=4 -- --mode ws --port "$ws_flip" --connections 4 --size 1000 --type binary
expect 1 verify_errors=2 -- --mode ws --port "$ws_type" --connections 2
expect 1 verify_errors=2 -- --mode raw --port "$ws" --connections 2
expect 1 lost_connections=2 -- --mode ws --port "$raw" --connections 2
expect 0 messages=0 lost_connections=0 -- --mode ws --port "$ws" --connections 500 --hold 0.5
for size in 16 1024 65536; do
  expect 0 $clean -- --port "$deflate" --deflate --type json --size "$size" --depth 4 --connections 8
done
expect 0 $clean -- --port "$deflate" --deflate --type binary --size 100000 --connections 2
# JSON compresses: both ways, fewer bytes on the wire than carried.
expect 0 $clean "sent_wire_ratio<0.5" "received_wire_ratio<0.5" -- --port "$deflate" --deflate \
  --type json --size 4096 --connections 4
expect 0 "sent_wire_ratio=1.0000" "received_wire_ratio=1.0000" -- --port "$deflate" --type json \
  --size 4096 --connections 4
expect 1 lost_connections=2 -- --port "$ws" --deflate --connections 2
expect 0 messages=0 lost_connections=0 -- --port "$deflate" --deflate --connections 50 --hold 0.5 \
  --hold-echo --type json --size 2048

# Fan-out: every subscriber gets every message, in order, as sent; a gap is missed, a repeat or a
# changed byte is a verify error.
fanout="verify_errors=0 lost_connections=0 missed=0 messages>0 published>0"
for size in 16 1024 65536; do
  expect 0 $fanout -- --mode fanout --port "$rooms" --size "$size" --type binary --depth 8 \
    --connections 50
done
expect 0 $fanout -- --mode fanout --port "$rooms" --connections 1000 --depth 64
expect 0 $fanout -- --mode fanout --port "$room" --size 64 --depth 4 --connections 20
expect 1 missed=1 verify_errors=0 lost_connections=0 -- --mode fanout --port "$room_drop" \
  --size 64 --depth 4 --connections 20
expect 1 verify_errors=1 lost_connections=1 -- --mode fanout --port "$room_dup" --size 64 \
  --depth 4 --connections 20
expect 1 verify_errors=1 lost_connections=1 -- --mode fanout --port "$room_flip" --size 64 \
  --depth 4 --connections 20
# Subscribers on a second server that shares nothing with the first receive nothing: all missed.
expect 1 verify_errors=0 lost_connections=0 "missed>0" -- --mode fanout --port "$rooms,$rooms2" \
  --connections 10
expect 2 -- --mode fanout --port "$rooms" --size 15
expect 2 -- --mode fanout --port "$rooms" --deflate

if [ $failures -gt 0 ]; then
  echo "$failures failed"
  exit 1
fi
echo "all passed"
