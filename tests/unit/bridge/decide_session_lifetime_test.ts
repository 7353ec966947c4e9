/**
 * A session ends at `expiresAt` exactly, for a token reconnect (CONNECT) as for a REAUTH: the
 * decision table (decide.ts) must not resume it at that instant.
 */
import { assertEquals } from "../../support/assert.ts";
import { decide } from "../../../src/bridge/decide.ts";
import { SESSION_EXPIRED } from "../../../src/bridge/denial.ts";
import { EVENTS_T0, testClientRequest, testSession } from "../../support/client_events_fixture.ts";

const NOW = EVENTS_T0;
const options = {
  bypassCommonNames: [],
  reauthCheck: "none" as const,
  now: NOW,
  serverSignsIn: true,
};
const endingNow = testSession({ sessionId: "s-1", cid: 4, expiresAt: NOW });

Deno.test("decide(): a token reconnect (CONNECT Authenticated) at the instant the session ends signs in afresh, not resumed", () => {
  const request = testClientRequest({
    kind: "connect",
    cid: 9,
    sessionId: "s-1",
    sessionState: "Authenticated",
    ivSso: "webauth",
  });
  assertEquals(decide(request, endingNow, options), { action: "start_login" });
  // A millisecond before, the same reconnect still resumes: the boundary is the instant itself.
  const live = { ...endingNow, expiresAt: NOW + 1 };
  assertEquals(decide(request, live, options), { action: "resume", session: live, refresh: false });
});

Deno.test("decide(): a REAUTH at the instant the session ends is denied as expired", () => {
  const request = testClientRequest({ kind: "reauth", cid: 4, sessionId: "s-1" });
  assertEquals(decide(request, endingNow, options), { action: "deny", denial: SESSION_EXPIRED });
});
