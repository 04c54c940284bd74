// The ceiling: a bare TCP echo in a Deno process, reading with conn.read into a reused buffer.
const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
console.log(`ready ${listener.addr.port}`);

async function echo(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (let written = 0; written < count;) {
        written += await conn.write(buffer.subarray(written, count));
      }
    }
  } catch {
    // The load generator hung up.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

for await (const conn of listener) {
  conn.setNoDelay(true);
  echo(conn);
}
