// The ceiling: a bare TCP echo, the most any server in the same process could reach, through the
// runtime's own TCP API. On Deno (`deno run --allow-net raw_echo.ts <port>`) it reads with
// conn.read into a reused buffer and awaits each write; on Bun (`bun raw_echo.ts <port>`) it
// writes back each chunk that Bun.listen hands it, keeping what the socket did not take for its
// drain; on Node (`node raw_echo.ts <port>`) it writes back each chunk of a node:net socket, and
// stops reading while Node holds more than its high-water mark of them, until they drain.

/** The part of Bun's TCP API used here. */
interface BunSocket {
  /** What the echo keeps per connection: bytes the socket has not taken yet. */
  data: { pending?: Uint8Array };
  setNoDelay(noDelay: boolean): void;
  /** Takes what the socket's buffer has room for, and returns how much; -1 once closed. */
  write(bytes: Uint8Array): number;
}
declare const Bun:
  | {
    argv: string[];
    listen(options: {
      hostname: string;
      port: number;
      socket: {
        open(socket: BunSocket): void;
        data(socket: BunSocket, chunk: Uint8Array): void;
        drain(socket: BunSocket): void;
      };
    }): { port: number };
  }
  | undefined;

async function echoOnDeno(conn: Deno.TcpConn): Promise<void> {
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

/** Writes `bytes` to `socket`, and keeps a copy of what it did not take until its drain. */
function writeOnBun(socket: BunSocket, bytes: Uint8Array): void {
  const written = Math.max(0, socket.write(bytes));
  socket.data.pending = written < bytes.length ? bytes.slice(written) : undefined;
}

/** Node's `process`, where the script runs on Node (Deno has one too, but is told apart first). */
declare const process: { argv: string[] } | undefined;

async function echoOnNode(port: number): Promise<void> {
  const net = await import("node:net");
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => {
      if (!socket.write(chunk)) socket.pause();
    });
    socket.on("drain", () => socket.resume());
    // The load generator hung up.
    socket.on("error", () => socket.destroy());
  });
  server.listen(port, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    console.log(`ready ${address.port}`);
  });
}

if (typeof Bun !== "undefined") {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: Number(Bun.argv[2] ?? 0),
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = {};
      },
      data(socket, chunk) {
        // Bytes still waiting go out first, so the echo keeps the stream's order.
        const pending = socket.data.pending;
        if (!pending) return writeOnBun(socket, chunk);
        const joined = new Uint8Array(pending.length + chunk.length);
        joined.set(pending);
        joined.set(chunk, pending.length);
        writeOnBun(socket, joined);
      },
      drain(socket) {
        if (socket.data.pending) writeOnBun(socket, socket.data.pending);
      },
    },
  });
  console.log(`ready ${server.port}`);
} else if (typeof Deno === "undefined") {
  await echoOnNode(Number(process!.argv[2] ?? 0));
} else {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  console.log(`ready ${listener.addr.port}`);
  for await (const conn of listener) {
    conn.setNoDelay(true);
    echoOnDeno(conn);
  }
}
