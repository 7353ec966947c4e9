import { assertEquals } from "../../support/assert.ts";
import { limitOutcome, sessionsOverLimit } from "../../../src/bridge/session_limit.ts";
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

Deno.test("limitOutcome() with deny_new: refused only by sessions a client holds; ones whose client left end instead", () => {
  const limit = { maxPerUser: 2, action: "deny_new" as const };
  const held = (id: string, createdAt: number) => session({ sessionId: id, cid: 1, createdAt });
  const left = (id: string, createdAt: number) =>
    session({ sessionId: id, cid: undefined, createdAt });
  assertEquals(limitOutcome([held("h1", 1), held("h2", 2)], limit), { refused: true });
  const outcome = limitOutcome([held("h1", 1), left("l1", 0), left("l2", 3)], limit);
  assertEquals(
    outcome.refused ? "refused" : outcome.end.map((s) => s.sessionId),
    ["l1", "l2"],
  );
  const kill = limitOutcome([held("h1", 1), held("h2", 2)], { ...limit, action: "kill_oldest" });
  assertEquals(kill.refused ? "refused" : kill.end.map((s) => s.sessionId), ["h1"]);
});
