/**
 * A test peer built on Deno's own `WebSocket` (a client we did not write): opening with a
 * timeout, a queue of received messages read one at a time or N at once, and the close event as
 * a promise. Every wait is bounded; `await using` closes the socket and waits for its close event,
 * so no test leaks a WebSocket resource.
 */

/** How the client saw the connection end: the fields of its `CloseEvent`. */
export interface ClientClose {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** A received message: text as a string, binary as bytes. */
export type ClientMessage = string | Uint8Array;

/** How long a wait may take unless a test says otherwise. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Resolves or rejects as `promise` does, or rejects after `timeoutMs` naming `what`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A `WebSocket` whose messages queue up until a test takes them. */
export class TestClient implements AsyncDisposable {
  readonly socket: WebSocket;
  /** Resolves with the close event once the socket is closed. */
  readonly closed: Promise<ClientClose>;
  #received: ClientMessage[] = [];
  #waiter: (() => void) | null = null;
  #closeEvent: ClientClose | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      const data = event.data;
      this.#received.push(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.#closeEvent = { code: event.code, reason: event.reason, wasClean: event.wasClean };
        resolve(this.#closeEvent);
        this.#wake();
      });
    });
  }

  /** Opens a WebSocket to `url`, offering `protocols`, and waits for its open event. */
  static async open(
    url: string,
    { timeoutMs = DEFAULT_TIMEOUT_MS, protocols = [] }: {
      timeoutMs?: number;
      protocols?: string[];
    } = {},
  ): Promise<TestClient> {
    const client = new TestClient(new WebSocket(url, protocols));
    const opened = new Promise<void>((resolve, reject) => {
      client.socket.addEventListener("open", () => resolve());
      client.closed.then((info) =>
        reject(new Error(`closed before open: ${JSON.stringify(info)}`))
      );
    });
    try {
      await withTimeout(opened, `opening ${url}`, timeoutMs);
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
    return client;
  }

  /** Sends a message: a string as text, bytes as binary. */
  send(message: ClientMessage): void {
    this.socket.send(message);
  }

  /** The next message, waiting up to `timeoutMs`; rejects if the socket closes first. */
  async next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ClientMessage> {
    const [message] = await this.collect(1, timeoutMs);
    return message;
  }

  /** The next message, which must be binary. */
  async nextBytes(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Uint8Array> {
    const message = await this.next(timeoutMs);
    if (typeof message === "string") {
      throw new Error(`a text message instead of binary: ${message}`);
    }
    return message;
  }

  /**
   * The next `count` messages, in arrival order, all within `timeoutMs`. A collect that timed out
   * takes nothing: what arrives later is left for the next.
   */
  collect(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ClientMessage[]> {
    let gaveUp = false;
    const collected = (async () => {
      while (this.#received.length < count) {
        if (this.#closeEvent) {
          throw new Error(
            `closed ${JSON.stringify(this.#closeEvent)} after ${this.#received.length} of ` +
              `${count} messages`,
          );
        }
        await new Promise<void>((resolve) => this.#waiter = resolve);
        if (gaveUp) return [];
      }
      return this.#received.splice(0, count);
    })();
    return withTimeout(collected, `${count} messages`, timeoutMs).catch((error) => {
      gaveUp = true;
      throw new Error(`${error.message} (${this.#received.length} came)`);
    });
  }

  /** Takes every message received and not yet taken. */
  takeAll(): ClientMessage[] {
    return this.#received.splice(0);
  }

  /** Closes with `code` and `reason` and waits for the close event. */
  close(code?: number, reason?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ClientClose> {
    this.socket.close(code, reason);
    return this.waitClosed(timeoutMs);
  }

  /** Waits for the close event, whoever closes. */
  waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ClientClose> {
    return withTimeout(this.closed, "the client's close event", timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (
      this.socket.readyState !== WebSocket.CLOSED && this.socket.readyState !== WebSocket.CLOSING
    ) {
      this.socket.close();
    }
    await this.waitClosed();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }
}

/** Opens `count` clients at once; all are closed again if any fails to open. */
export async function openMany(
  url: string,
  count: number,
): Promise<TestClient[] & AsyncDisposable> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => TestClient.open(url)),
  );
  const clients = results.flatMap((result) => result.status === "fulfilled" ? [result.value] : []);
  const group = Object.assign(clients, {
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((client) => client[Symbol.asyncDispose]()));
    },
  });
  const failure = results.find((result) => result.status === "rejected");
  if (failure) {
    await group[Symbol.asyncDispose]();
    throw failure.reason;
  }
  return group;
}

/**
 * `length` pseudo-random bytes from `seed` (xorshift32): no period a cut, shift or repeated chunk
 * could hide behind, and the same bytes for the same seed.
 */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = (seed * 0x9e3779b1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/**
 * Where two byte arrays first differ, or -1 when they are equal; a length mismatch differs at
 * the shorter length. Cheaper than `assertEquals` on megabytes, and its failure says where.
 */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : length;
}
