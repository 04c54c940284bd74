/** Feeding body decoders as a connection does, shared by the body decoder tests. */

import { assert, assertEquals } from "@std/assert";
import type { BodyDecoder } from "../../src/protocol/decoded_body.ts";
import { concat } from "../helpers/frames.ts";

/** What a decoder made of a connection's bytes. */
export interface Decoded {
  body: Uint8Array;
  done: boolean;
  /** The bytes after the body, all the pieces after its end included. */
  rest: Uint8Array;
}

/**
 * Pushes every piece into `decoder`, as a read loop would, and checks what each push returns:
 * its data are views into the piece, none empty, and nothing but `rest` comes after the end.
 */
export function decodeAll(decoder: BodyDecoder, pieces: Uint8Array[]): Decoded {
  const body: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  let done = false;
  for (const piece of pieces) {
    const decoded = decoder.push(piece);
    for (const data of decoded.data) {
      assert(data.length > 0, "an empty data array");
      assert(data.buffer === piece.buffer, "data copied out of the piece");
      body.push(data.slice());
    }
    if (done) assertEquals(decoded.data, [], "data after the end");
    if (decoded.done) {
      assert(
        decoded.rest.buffer === piece.buffer,
        "rest copied out of the piece",
      );
      rest.push(decoded.rest.slice());
    } else assertEquals(decoded.rest.length, 0, "rest before the end");
    done = decoded.done;
    assertEquals(decoder.done, done);
  }
  return { body: concat(...body), done, rest: concat(...rest) };
}
