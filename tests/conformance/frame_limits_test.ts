/**
 * Conformance, the frame and fragment limits (RFC 6455 §5.4 and §10.4 leave them to the
 * endpoint; Autobahn has no case for them): with `maxFrameBytes` 1000 and `maxFragments` 8, a
 * frame or a message at the limit is echoed, one byte or one fragment more closes with 1009 or
 * 1008 as soon as that frame's header is in, before its payload is sent.
 */

import { CloseCode, Opcode } from "../../mod.ts";
import { fragments, frame, patterned } from "../helpers/frames.ts";
import { testConfigured } from "../helpers/server.ts";
import { exchange, serverFrame } from "./support.ts";

const MAX_FRAME_BYTES = 1000;
const MAX_FRAGMENTS = 8;

/** `count` parts of `size` bytes of one pattern, and the whole they make. */
function parts(count: number, size: number): { parts: Uint8Array[]; whole: Uint8Array } {
  const whole = patterned(count * size);
  return {
    parts: Array.from({ length: count }, (_, i) => whole.subarray(i * size, (i + 1) * size)),
    whole,
  };
}

testConfigured(
  "conformance: frame and fragment limits",
  { maxFrameBytes: MAX_FRAME_BYTES, maxFragments: MAX_FRAGMENTS, pingIntervalMs: 0 },
  "echo",
  async ({ port }, t) => {
    await t.step("a frame of exactly maxFrameBytes is echoed", () => {
      const payload = patterned(MAX_FRAME_BYTES);
      return exchange(port, {
        send: [frame(Opcode.Binary, payload)],
        replies: [serverFrame(Opcode.Binary, payload)],
      });
    });

    await t.step(
      "a frame declaring maxFrameBytes + 1 closes with 1009 on its header",
      () =>
        exchange(port, {
          send: [frame(Opcode.Binary, [], { declaredLength: BigInt(MAX_FRAME_BYTES + 1) })],
          closeCode: CloseCode.MessageTooBig,
        }),
    );

    await t.step(
      "a text frame of maxFrameBytes + 1, sent whole, closes with 1009",
      () =>
        exchange(port, {
          send: [frame(Opcode.Text, "a".repeat(MAX_FRAME_BYTES + 1))],
          closeCode: CloseCode.MessageTooBig,
        }),
    );

    await t.step("the limit is per frame: three fragments at the limit make one message", () => {
      const { parts: three, whole } = parts(3, MAX_FRAME_BYTES);
      return exchange(port, {
        send: fragments(Opcode.Binary, three),
        chops: "frame by frame",
        replies: [serverFrame(Opcode.Binary, whole)],
      });
    });

    await t.step("a message in exactly maxFragments frames, a ping among them, is echoed", () => {
      const { parts: eight, whole } = parts(MAX_FRAGMENTS, 3);
      const frames = fragments(Opcode.Binary, eight);
      frames.splice(4, 0, frame(Opcode.Ping, "between"));
      return exchange(port, {
        send: frames,
        chops: "frame by frame",
        replies: [serverFrame(Opcode.Pong, "between"), serverFrame(Opcode.Binary, whole)],
      });
    });

    await t.step(
      "a message in maxFragments + 1 frames closes with 1008 on the last header, unechoed",
      () => {
        const frames = fragments(Opcode.Text, Array(MAX_FRAGMENTS).fill("x"));
        // The ninth frame's header alone: its payload is never sent.
        const ninth = frame(Opcode.Continuation, [], { declaredLength: 1n });
        return exchange(port, {
          send: [...frames.slice(0, -1), frame(Opcode.Continuation, "x", { fin: false }), ninth],
          chops: "frame by frame",
          closeCode: CloseCode.PolicyViolation,
        });
      },
    );

    await t.step("the fragment count starts again with each message", () => {
      const first = parts(MAX_FRAGMENTS, 2);
      const second = parts(MAX_FRAGMENTS, 2);
      return exchange(port, {
        send: [...fragments(Opcode.Binary, first.parts), ...fragments(Opcode.Binary, second.parts)],
        chops: "frame by frame",
        replies: [
          serverFrame(Opcode.Binary, first.whole),
          serverFrame(Opcode.Binary, second.whole),
        ],
      });
    });
  },
);
