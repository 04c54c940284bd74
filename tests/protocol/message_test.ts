import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ProtocolError } from "../../src/protocol/errors.ts";
import { type Frame, Opcode } from "../../src/protocol/frame.ts";
import { type Message, MessageAssembler } from "../../src/protocol/message.ts";
import { bytesOf } from "../helpers/frames.ts";

function data(opcode: Opcode, payload: string | number[], fin = true): Frame {
  return { fin, rsv: 0, opcode, payload: bytesOf(payload) };
}

function assemble(frames: Frame[]): Message[] {
  const assembler = new MessageAssembler();
  return frames.map((frame) => assembler.push(frame)).filter((message) => message !== undefined);
}

function closeCodeOf(frames: Frame[]): number {
  const error = assertThrows(() => assemble(frames));
  assertInstanceOf(error, ProtocolError);
  return error.closeCode;
}

Deno.test("message: single frames become text and binary messages", () => {
  assertEquals(assemble([data(Opcode.Text, "Hello"), data(Opcode.Binary, [1, 2, 3])]), [
    "Hello",
    new Uint8Array([1, 2, 3]),
  ]);
});

Deno.test("message: fragments join into one message, empty fragments included", () => {
  assertEquals(
    assemble([
      data(Opcode.Text, "Hel", false),
      data(Opcode.Continuation, "", false),
      data(Opcode.Continuation, "lo"),
      data(Opcode.Binary, [1], false),
      data(Opcode.Continuation, [2, 3]),
    ]),
    ["Hello", new Uint8Array([1, 2, 3])],
  );
});

Deno.test("message: UTF-8 split across fragment boundaries is joined", () => {
  // "€" is E2 82 AC.
  assertEquals(
    assemble([
      data(Opcode.Text, [0x61, 0xe2], false),
      data(Opcode.Continuation, [0x82], false),
      data(Opcode.Continuation, [0xac]),
    ]),
    ["a€"],
  );
});

Deno.test("message: a binary payload the frame owns is kept, not copied", () => {
  const payload = new Uint8Array([1, 2, 3]);
  const [message] = assemble([{ fin: true, rsv: 0, opcode: Opcode.Binary, payload }]);
  assertEquals(message === payload, true);
});

Deno.test("message: borrowed binary payloads are copied, whole or fragmented", () => {
  const chunk = new Uint8Array([0, 1, 2]);
  const borrowed = (payload: Uint8Array, fin: boolean, opcode: Frame["opcode"]): Frame => ({
    fin,
    rsv: 0,
    opcode,
    payload,
    borrowed: true,
  });
  const [whole] = assemble([borrowed(chunk.subarray(1), true, Opcode.Binary)]);
  const [joined] = assemble([
    borrowed(chunk.subarray(1, 2), false, Opcode.Binary),
    borrowed(chunk.subarray(2), true, Opcode.Continuation),
  ]);
  chunk.fill(9);
  assertEquals([whole, joined], [new Uint8Array([1, 2]), new Uint8Array([1, 2])]);
});

Deno.test("message: a continuation with no message begun is 1002", () => {
  assertEquals(closeCodeOf([data(Opcode.Continuation, "x")]), 1002);
});

Deno.test("message: a new data frame inside an unfinished message is 1002", () => {
  assertEquals(closeCodeOf([data(Opcode.Text, "a", false), data(Opcode.Text, "b")]), 1002);
  assertEquals(closeCodeOf([data(Opcode.Binary, "a", false), data(Opcode.Text, "b")]), 1002);
});

Deno.test("message: invalid UTF-8 fails at the fragment that holds it, not at the end", () => {
  const assembler = new MessageAssembler();
  assembler.push(data(Opcode.Text, "ok", false));
  const error = assertThrows(() => assembler.push(data(Opcode.Continuation, [0xed, 0xa0], false)));
  assertInstanceOf(error, ProtocolError);
  assertEquals(error.closeCode, 1007);
});

Deno.test("message: a text message ending inside a sequence is 1007", () => {
  assertEquals(closeCodeOf([data(Opcode.Text, [0xe2, 0x82])]), 1007);
  assertEquals(
    closeCodeOf([data(Opcode.Text, "a", false), data(Opcode.Continuation, [0xe2])]),
    1007,
  );
});

Deno.test("message: checks a text frame's UTF-8 while its payload is still arriving", () => {
  const assembler = new MessageAssembler();
  const bytes = bytesOf("héllo wörld");
  assembler.checkPartial({ opcode: Opcode.Text, rsv: 0, payloadSoFar: bytes.subarray(0, 2) });
  assembler.checkPartial({ opcode: Opcode.Text, rsv: 0, payloadSoFar: bytes.subarray(0, 9) });
  assertEquals(
    assembler.push({ fin: true, rsv: 0, opcode: Opcode.Text, payload: bytes }),
    "héllo wörld",
  );

  const failing = new MessageAssembler();
  const error = assertThrows(() =>
    failing.checkPartial({
      opcode: Opcode.Text,
      rsv: 0,
      payloadSoFar: new Uint8Array([0x61, 0xff]),
    })
  );
  assertInstanceOf(error, ProtocolError);
  assertEquals(error.closeCode, 1007);
});

Deno.test("message: partial checks follow a fragmented text message into its continuations", () => {
  const assembler = new MessageAssembler();
  assembler.push(data(Opcode.Text, "a", false));
  const error = assertThrows(() =>
    assembler.checkPartial({
      opcode: Opcode.Continuation,
      rsv: 0,
      payloadSoFar: new Uint8Array([0xc0]),
    })
  );
  assertEquals((error as ProtocolError).closeCode, 1007);
  // Binary continuations are not text, so nothing is checked.
  const binary = new MessageAssembler();
  binary.push(data(Opcode.Binary, [0xff], false));
  binary.checkPartial({
    opcode: Opcode.Continuation,
    rsv: 0,
    payloadSoFar: new Uint8Array([0xff]),
  });
  assertEquals(binary.push(data(Opcode.Continuation, [0xff])), new Uint8Array([0xff, 0xff]));
});

Deno.test("message: a frame out of sequence fails from its header, before its payload", () => {
  const begun = new MessageAssembler();
  begun.push(data(Opcode.Text, "a", false));
  const inside = assertThrows(() =>
    begun.checkPartial({ opcode: Opcode.Binary, rsv: 0, payloadSoFar: new Uint8Array() })
  );
  assertEquals((inside as ProtocolError).closeCode, 1002);
  const orphan = assertThrows(() =>
    new MessageAssembler().checkPartial({
      opcode: Opcode.Continuation,
      rsv: 0,
      payloadSoFar: new Uint8Array(),
    })
  );
  assertEquals((orphan as ProtocolError).closeCode, 1002);
});
