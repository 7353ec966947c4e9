/**
 * tokensToRevoke(): which of an ended session's refresh tokens are revoked, the one its entry held
 * as it was removed or the caller's, and that none is revoked twice
 * (session_end_rotated_token_test.ts shows them sent to the IdP).
 */
import { assertEquals } from "../../support/assert.ts";
import { tokensToRevoke } from "../../../src/bridge/session_end.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { testSession } from "../../support/client_events_fixture.ts";

const READ = testSession({ refreshToken: "rt-1" });
const NO_TOKEN = testSession({ refreshToken: undefined });
/** The entry was already gone (another bridge instance ended it): nothing removed. */
const GONE = null;

Deno.test("tokensToRevoke() names the stored token first and each token once", () => {
  const cases: Array<[string, Session, string | undefined, string | undefined | null, unknown]> = [
    ["as read", READ, undefined, "rt-1", ["rt-1", undefined]],
    ["rotated since the read", READ, undefined, "rt-2", ["rt-2", "rt-1"]],
    ["the caller's newer", READ, "rt-3", "rt-1", ["rt-3", undefined]],
    ["the caller's newer, rotated elsewhere too", READ, "rt-3", "rt-2", ["rt-2", "rt-3"]],
    ["the caller's newer, stored since", READ, "rt-3", "rt-3", ["rt-3", undefined]],
    ["entry without a token", READ, undefined, undefined, ["rt-1", undefined]],
    ["entry gone", READ, undefined, GONE, ["rt-1", undefined]],
    ["entry gone, the caller's newer", READ, "rt-3", GONE, ["rt-3", undefined]],
    ["stored only", NO_TOKEN, undefined, "rt-2", ["rt-2", undefined]],
    ["none", NO_TOKEN, undefined, undefined, [undefined, undefined]],
  ];
  for (const [name, session, endingToken, stored, expected] of cases) {
    const ending = endingToken === undefined
      ? { kill: false }
      : { kill: false, refreshToken: endingToken };
    const at = { server: "default", cid: 4 };
    const removed = stored === GONE
      ? undefined
      : stored === undefined
      ? at
      : { ...at, refreshToken: stored };
    assertEquals(tokensToRevoke(session, ending, removed), expected, name);
  }
});
