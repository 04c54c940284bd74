/**
 * The permessage-deflate codec: RFC 7692 §7.2.3's examples, context takeover both ways, the
 * threshold, inflate bombs and invalid data.
 */
import { assert, assertEquals, assertInstanceOf, assertLess, assertThrows } from "@std/assert";
import { deflateRawSync } from "node:zlib";
import { DeflateCodec, type DeflateCodecOptions } from "../../src/protocol/deflate.ts";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { TAKEOVER_CODEC } from "../helpers/deflate.ts";

const NO_TAKEOVER: DeflateCodecOptions = {
  ...TAKEOVER_CODEC,
  deflateContextTakeover: false,
  inflateContextTakeover: false,
};

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: string) => new TextEncoder().encode(value);
const HELLO = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

/** Runs `use` with a codec, and closes it after. */
function withCodec(options: DeflateCodecOptions, use: (codec: DeflateCodec) => void): void {
  const codec = new DeflateCodec(options);
  try {
    use(codec);
  } finally {
    codec.close();
  }
}

function inflateError(codec: DeflateCodec, payloads: Uint8Array[], maxBytes = 1024): ProtocolError {
  const error = assertThrows(() => codec.decode(payloads, maxBytes));
  assertInstanceOf(error, ProtocolError);
  return error;
}

Deno.test('deflate: §7.2.3.1 "Hello" compresses to f2 48 cd c9 c9 07 00, whole or in fragments', () => {
  withCodec(NO_TAKEOVER, (codec) => {
    assertEquals(codec.encode(bytes("Hello")), new Uint8Array(HELLO));
    assertEquals(text(codec.decode([new Uint8Array(HELLO)], 1024)), "Hello");
    const fragments = [new Uint8Array(HELLO.slice(0, 3)), new Uint8Array(HELLO.slice(3))];
    assertEquals(text(codec.decode(fragments, 1024)), "Hello");
  });
});

Deno.test('deflate: §7.2.3.2 the second "Hello" refers to the first when the window is kept', () => {
  withCodec(TAKEOVER_CODEC, (sender) => {
    assertEquals(sender.encode(bytes("Hello")), new Uint8Array(HELLO));
    assertEquals(sender.encode(bytes("Hello")), new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]));
  });
  withCodec(TAKEOVER_CODEC, (receiver) => {
    assertEquals(text(receiver.decode([new Uint8Array(HELLO)], 1024)), "Hello");
    const second = new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]);
    assertEquals(text(receiver.decode([second], 1024)), "Hello");
  });
});

Deno.test("deflate: without context takeover every message is compressed on its own", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    assertEquals(codec.encode(bytes("Hello")), new Uint8Array(HELLO));
    assertEquals(codec.encode(bytes("Hello")), new Uint8Array(HELLO));
    assertEquals(text(codec.decode([new Uint8Array(HELLO)], 1024)), "Hello");
    // A reference back to an earlier message is invalid once the window is forgotten.
    const second = new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]);
    assertEquals(inflateError(codec, [second]).closeCode, 1007);
  });
});

Deno.test("deflate: §7.2.3.3 a block with no compression", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    const stored = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
    assertEquals(text(codec.decode([new Uint8Array(stored)], 1024)), "Hello");
  });
});

Deno.test("deflate: §7.2.3.4 a block with BFINAL set, then a new stream for the next message", () => {
  withCodec(TAKEOVER_CODEC, (codec) => {
    const final = new Uint8Array([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]);
    assertEquals(text(codec.decode([final], 1024)), "Hello");
    // The peer's stream ended: its next message starts a new one, and is inflated as such.
    assertEquals(text(codec.decode([final], 1024)), "Hello");
    assertEquals(text(codec.decode([new Uint8Array(HELLO)], 1024)), "Hello");
  });
});

Deno.test("deflate: §7.2.3.5 two DEFLATE blocks in one message", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    const blocks = [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
    assertEquals(text(codec.decode([new Uint8Array(blocks)], 1024)), "Hello");
  });
});

Deno.test("deflate: §7.2.3.6 an empty last fragment after a sync flush", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    const flushed = new Uint8Array([...HELLO, 0x00, 0x00, 0xff, 0xff]);
    assertEquals(text(codec.decode([flushed, new Uint8Array([0x00])], 1024)), "Hello");
  });
});

Deno.test("deflate: an empty compressed payload is an empty message, and the window stays good", () => {
  withCodec(TAKEOVER_CODEC, (sender) =>
    withCodec(TAKEOVER_CODEC, (receiver) => {
      assertEquals(text(receiver.decode([sender.encode(bytes("Hello"))!], 1024)), "Hello");
      assertEquals(receiver.decode([new Uint8Array(0)], 1024).length, 0);
      assertEquals(receiver.decode([new Uint8Array(0), new Uint8Array(0)], 1024).length, 0);
      // "World" may refer back to "Hello": the empty message changed nothing in between.
      assertEquals(
        text(receiver.decode([sender.encode(bytes("World, Hello"))!], 1024)),
        "World, Hello",
      );
    }));
});

Deno.test("deflate: an empty compressed message inflates to nothing", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    assertEquals(codec.decode([new Uint8Array(0)], 1024).length, 0);
    assertEquals(codec.decode([new Uint8Array([0x00])], 1024).length, 0);
  });
});

Deno.test("deflate: messages under the threshold, and empty ones, are not compressed", () => {
  withCodec({ ...TAKEOVER_CODEC, threshold: 6 }, (codec) => {
    assertEquals(codec.encode(bytes("Hello")), null);
    assert(codec.encode(bytes("Hello!")) !== null);
  });
  withCodec(TAKEOVER_CODEC, (codec) => assertEquals(codec.encode(new Uint8Array(0)), null));
});

Deno.test("deflate: large messages round-trip many times", () => {
  withCodec(TAKEOVER_CODEC, (sender) =>
    withCodec(TAKEOVER_CODEC, (receiver) => {
      for (let round = 0; round < 20; round++) {
        // 200 KiB of JSON-like text: the output spans several pieces of the engine's buffer.
        const records = Array.from(
          { length: 2000 },
          (_, i) => ({ id: round * 2000 + i, ok: true }),
        );
        const message = bytes(JSON.stringify(records).padEnd(200 * 1024, " "));
        const compressed = sender.encode(message)!;
        assertLess(compressed.length, message.length / 4);
        const inflated = receiver.decode([compressed], message.length);
        assertEquals(inflated, message);
      }
    }));
});

Deno.test("deflate: incompressible data round-trips", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    const noise = crypto.getRandomValues(new Uint8Array(65536));
    const compressed = codec.encode(noise)!;
    assertEquals(codec.decode([compressed], noise.length), noise);
  });
});

Deno.test("deflate: a bomb stops at the size limit with 1009, and the next message is fine", () => {
  // 64 MiB of zeros deflate to about 64 KiB; the limit is 1 MiB.
  const bomb = deflateRawSync(new Uint8Array(64 * 1024 * 1024));
  withCodec(NO_TAKEOVER, (codec) => {
    const error = inflateError(codec, [bomb], 1024 * 1024);
    assertEquals(error.closeCode, 1009);
    assertEquals(text(codec.decode([new Uint8Array(HELLO)], 1024)), "Hello");
  });
});

Deno.test("deflate: the size limit is exact", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    assertEquals(codec.decode([new Uint8Array(HELLO)], 5).length, 5);
    assertEquals(inflateError(codec, [new Uint8Array(HELLO)], 4).closeCode, 1009);
  });
});

Deno.test("deflate: invalid data fails with 1007, and a shared inflater recovers", () => {
  withCodec(NO_TAKEOVER, (codec) => {
    assertEquals(inflateError(codec, [new Uint8Array([0xff, 0xff, 0xff])]).closeCode, 1007);
    // A distance back before the start of the stream.
    assertEquals(
      inflateError(codec, [new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00])]).closeCode,
      1007,
    );
    assertEquals(text(codec.decode([new Uint8Array(HELLO)], 1024)), "Hello");
  });
});

Deno.test("deflate: a small window is honoured both ways", () => {
  const small = { ...TAKEOVER_CODEC, deflateWindowBits: 9, inflateWindowBits: 9 };
  withCodec(small, (sender) =>
    withCodec(small, (receiver) => {
      for (let round = 0; round < 5; round++) {
        const message = bytes(`${round}: ` + "0123456789abcdef".repeat(4096));
        assertEquals(receiver.decode([sender.encode(message)!], message.length), message);
      }
    }));
});
