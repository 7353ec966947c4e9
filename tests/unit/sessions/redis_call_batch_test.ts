import { assertEquals, assertRejects } from "../../support/assert.ts";
import { CALL_BATCH, CallBatcher } from "../../../src/sessions/redis_call_batch.ts";

/** A batcher whose calls are recorded; each answers its items doubled, or fails when told. */
function recorded(failCall?: number) {
  const calls: number[][] = [];
  const batcher = new CallBatcher((items: number[]) => {
    calls.push(items);
    if (calls.length === failCall) return Promise.reject(new Error(`call ${failCall} failed`));
    return Promise.resolve(items.map((item) => item * 2));
  });
  return { calls, batcher };
}

Deno.test("CallBatcher: items submitted in one run of microtasks go as one call, each answered with its own result", async () => {
  const { calls, batcher } = recorded();
  const results = await Promise.all([1, 2, 3].map((item) => batcher.submit(item)));
  assertEquals(calls, [[1, 2, 3]]);
  assertEquals(results, [2, 4, 6]);
});

Deno.test("CallBatcher: more than CALL_BATCH items go as calls of at most CALL_BATCH, in order", async () => {
  const { calls, batcher } = recorded();
  const items = Array.from({ length: 2 * CALL_BATCH + 3 }, (_, i) => i);
  const results = await Promise.all(items.map((item) => batcher.submit(item)));
  assertEquals(calls.map((call) => call.length), [CALL_BATCH, CALL_BATCH, 3]);
  assertEquals(calls.flat(), items);
  assertEquals(results, items.map((item) => item * 2));
});

Deno.test("CallBatcher: a failed call fails its own items only", async () => {
  const { calls, batcher } = recorded(2);
  const items = Array.from({ length: CALL_BATCH + 2 }, (_, i) => i);
  const settled = await Promise.allSettled(items.map((item) => batcher.submit(item)));
  assertEquals(calls.length, 2);
  assertEquals(settled.slice(0, CALL_BATCH).every((s) => s.status === "fulfilled"), true);
  for (const outcome of settled.slice(CALL_BATCH)) {
    assertEquals(outcome.status, "rejected");
    assertEquals(outcome.status === "rejected" && String(outcome.reason), "Error: call 2 failed");
  }
});

Deno.test("CallBatcher: an item submitted after the call went out waits for a call of its own", async () => {
  const { calls, batcher } = recorded();
  const first = batcher.submit(1);
  await first;
  assertEquals(await batcher.submit(2), 4);
  assertEquals(calls, [[1], [2]]);
  // Nothing submitted, nothing called.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(calls.length, 2);
});

Deno.test("CallBatcher: a call that throws at once rejects every item of it", async () => {
  const batcher = new CallBatcher((_: string[]): Promise<readonly string[]> => {
    throw new Error("thrown");
  });
  await assertRejects(() => batcher.submit("a"), Error, "thrown");
});
