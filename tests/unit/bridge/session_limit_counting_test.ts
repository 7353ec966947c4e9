/**
 * What max_per_user counts: 0 is no limit whatever the action, and the session being admitted is
 * not one of the user's others, also when the store already holds it under the same id (a new
 * sign-in with OpenVPN's session_id of a stored session): counted, it refused the user under
 * deny_new, or under kill_oldest had the session just signed in for ended.
 */
import { assertEquals } from "../../support/assert.ts";
import { excessSessions, limitOutcome } from "../../../src/bridge/session_limit.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { session } from "../sessions/fixtures.ts";

const held = (id: string, createdAt: number) =>
  session({ sessionId: id, subject: "alice", cid: 1, createdAt });

Deno.test("limitOutcome() with max_per_user 0 refuses and ends nothing, with deny_new as with kill_oldest", () => {
  const others = [held("h1", 1), held("h2", 2)];
  for (const action of ["deny_new", "kill_oldest"] as const) {
    assertEquals(
      limitOutcome(others, { maxPerUser: 0, action }),
      { refused: false, end: [] },
      action,
    );
  }
});

Deno.test("excessSessions() does not count the session being admitted when the store holds it already", async () => {
  const signingIn = held("same", 5);
  const stored: Session[] = [held("same", 3)];
  const store = { findSessionsBySubject: () => Promise.resolve(stored) };
  for (const action of ["deny_new", "kill_oldest"] as const) {
    assertEquals(
      await excessSessions(store, { maxPerUser: 1, action }, signingIn),
      { refused: false, end: [] },
      action,
    );
  }
});
