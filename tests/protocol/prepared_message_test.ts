import { assertEquals } from "@std/assert";
import { DeflateCodec } from "../../src/protocol/deflate.ts";
import { Opcode, RSV1 } from "../../src/protocol/frame.ts";
import { PreparedMessage } from "../../src/protocol/prepared_message.ts";
import { TAKEOVER_CODEC } from "../helpers/deflate.ts";

const SHARED = { ...TAKEOVER_CODEC, deflateContextTakeover: false, threshold: 16 };
const LONG = "a message long enough to be worth compressing, again and again and again";

Deno.test("prepared message: one plain frame for every connection without an extension", () => {
  const message = PreparedMessage.of(new Uint8Array(200));
  const frame = message.frame();
  assertEquals([frame[0], frame[1], frame.length], [0x82, 126, 204]);
  assertEquals(message.frame() === frame, true);
});

Deno.test("prepared message: compressed once for every codec that shares its encoding, uncompressed under the threshold", () => {
  const codecs = [new DeflateCodec(SHARED), new DeflateCodec(SHARED)];
  try {
    const message = PreparedMessage.of(LONG);
    const [first, second] = codecs.map((codec) => message.frame(codec));
    assertEquals(first === second, true);
    assertEquals([first[0] & 0x0f, (first[0] >> 4) & 0x7], [Opcode.Text, RSV1]);
    assertEquals(codecs[0].decode([first.subarray(2)], 1024), new TextEncoder().encode(LONG));
    const short = PreparedMessage.of("short");
    assertEquals(short.frame(codecs[0]) === short.frame(), true);
  } finally {
    for (const codec of codecs) codec.close();
  }
});

Deno.test("prepared message: a codec that keeps its context gets a frame compressed for it alone", () => {
  const kept = [new DeflateCodec(TAKEOVER_CODEC), new DeflateCodec(TAKEOVER_CODEC)];
  try {
    const message = PreparedMessage.of(LONG);
    const [first, second] = kept.map((codec) => message.frame(codec));
    assertEquals(first === second, false);
    assertEquals(first, second, "two fresh contexts compress alike");
  } finally {
    for (const codec of kept) codec.close();
  }
});
