import { assertEquals } from "../../support/assert.ts";
import { sessionsOverLimit } from "../../../src/bridge/session_limit.ts";
import { session } from "../sessions/fixtures.ts";

const others = [
  session({ sessionId: "c", createdAt: 300 }),
  session({ sessionId: "a", createdAt: 100 }),
  session({ sessionId: "b2", createdAt: 200 }),
  session({ sessionId: "b1", createdAt: 200 }),
];

const cases: Array<[number, string[]]> = [
  [0, []],
  [5, []],
  [4, ["a"]],
  [3, ["a", "b1"]],
  [1, ["a", "b1", "b2", "c"]],
];

for (const [max, expected] of cases) {
  Deno.test(`sessionsOverLimit() with 4 others and max ${max} ends ${expected.length} oldest`, () => {
    assertEquals(sessionsOverLimit(others, max).map((s) => s.sessionId), expected);
  });
}

Deno.test("sessionsOverLimit() with no other sessions ends nothing, even at max 1", () => {
  assertEquals(sessionsOverLimit([], 1), []);
});
