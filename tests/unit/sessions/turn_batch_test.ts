/** TurnBatch: the adds of one event-loop turn reach the writer in one call, in order. */
import { assertEquals } from "../../support/assert.ts";
import { TurnBatch } from "../../../src/sessions/turn_batch.ts";

/** A writer that records each call and answers with `answer(items)`. */
function recordingWriter(answer: (items: readonly string[]) => readonly unknown[]) {
  const calls: string[][] = [];
  const batch = new TurnBatch<string>((items) => {
    calls.push([...items]);
    return answer(items);
  });
  return { calls, batch };
}

Deno.test("TurnBatch: the adds of one turn are written by one call, all items in order", async () => {
  const { calls, batch } = recordingWriter((items) => items.map(() => undefined));
  const adds = [batch.add("a"), batch.add("b"), batch.add("c")];
  assertEquals(calls, [], "nothing is written within the turn of the adds");
  await Promise.all(adds);
  assertEquals(calls, [["a", "b", "c"]]);

  // The next turn's adds are the next call.
  await Promise.all([batch.add("d"), batch.add("e")]);
  assertEquals(calls, [["a", "b", "c"], ["d", "e"]]);
});

Deno.test("TurnBatch: an add resolves only after the write returned", async () => {
  let written = false;
  const batch = new TurnBatch<string>((items) => {
    written = true;
    return items.map(() => undefined);
  });
  await batch.add("a");
  assertEquals(written, true);
});

Deno.test("TurnBatch: an error for one item rejects that add alone", async () => {
  const refused = new Error("b refused");
  const { calls, batch } = recordingWriter((items) =>
    items.map((item) => item === "b" ? refused : undefined)
  );
  const results = await Promise.allSettled([batch.add("a"), batch.add("b"), batch.add("c")]);
  assertEquals(calls, [["a", "b", "c"]]);
  assertEquals(results, [
    { status: "fulfilled", value: undefined },
    { status: "rejected", reason: refused },
    { status: "fulfilled", value: undefined },
  ]);
});

Deno.test("TurnBatch: a writer that throws rejects every add of the turn; the next turn writes again", async () => {
  const broken = new Error("disk gone");
  let fail = true;
  const { calls, batch } = recordingWriter((items) => {
    if (fail) throw broken;
    return items.map(() => undefined);
  });
  const results = await Promise.allSettled([batch.add("a"), batch.add("b")]);
  assertEquals(results, [
    { status: "rejected", reason: broken },
    { status: "rejected", reason: broken },
  ]);
  fail = false;
  await batch.add("c");
  assertEquals(calls, [["a", "b"], ["c"]]);
});

Deno.test("TurnBatch: flush() writes what is queued at once, and the turn's flush finds nothing", async () => {
  const { calls, batch } = recordingWriter((items) => items.map(() => undefined));
  const adds = [batch.add("a"), batch.add("b")];
  batch.flush();
  assertEquals(calls, [["a", "b"]]);
  await Promise.all(adds);
  assertEquals(calls, [["a", "b"]]);
});
