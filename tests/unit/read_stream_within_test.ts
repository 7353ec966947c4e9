import { assertEquals } from "../support/assert.ts";
import { readStreamWithin } from "../../src/read_stream_within.ts";

/** A stream of `chunks` that records whether it was cancelled and how much was pulled. */
function source(chunks: Uint8Array[]) {
  const seen = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[seen.pulled++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("readStreamWithin() cancels the rest of a body past its cap, so the connection under it is let go", async () => {
  const { stream, seen } = source([new Uint8Array(3), new Uint8Array(3), new Uint8Array(3)]);
  assertEquals(await readStreamWithin(stream, 5), undefined);
  assertEquals(seen, { cancelled: true, pulled: 2 });
});

Deno.test("readStreamWithin() gives a body of exactly its cap whole, chunks in order", async () => {
  const { stream, seen } = source([Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5)]);
  assertEquals(await readStreamWithin(stream, 5), Uint8Array.of(1, 2, 3, 4, 5));
  assertEquals(seen.cancelled, false);
});
