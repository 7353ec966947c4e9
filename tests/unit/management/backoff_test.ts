import { assertEquals } from "../../support/assert.ts";
import { reconnectDelay } from "../../../src/management/backoff.ts";

const policy = { minMs: 200, maxMs: 5000 };

Deno.test("reconnectDelay() doubles from the minimum and stops at the maximum", () => {
  const highest = [0, 1, 2, 3, 4, 5, 6, 50].map((attempt) =>
    reconnectDelay(attempt, policy, () => 1)
  );
  assertEquals(highest, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
});

Deno.test("reconnectDelay() keeps at least half of the delay whatever the jitter", () => {
  const lowest = [0, 1, 5].map((attempt) => reconnectDelay(attempt, policy, () => 0));
  assertEquals(lowest, [100, 200, 2500]);
  assertEquals(reconnectDelay(2, policy, () => 0.5), 600);
});
