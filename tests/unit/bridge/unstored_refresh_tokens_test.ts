/**
 * A refresh token the IdP rotated while the store could not take it: kept in memory and
 * presented (and written) in place of the dead one the store still holds, so that the next
 * refresh is not refused (invalid_grant) and the session not ended with its grant alive.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { getLogger } from "../../../src/log.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { IdpRejectedError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { UnstoredRefreshTokens } from "../../../src/bridge/unstored_refresh_tokens.ts";
import { EVENTS_T0, testAdmission, testSession } from "../../support/client_events_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

const T0 = EVENTS_T0;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };

/** An IdP whose refresh tokens are good once: rt-1, then rt-2, ... */
function oneUseIdp() {
  let live = "rt-1";
  let issued = 1;
  const presented: string[] = [];
  const refresh = (token: string): Promise<RefreshResult> => {
    presented.push(token);
    if (token !== live) {
      return Promise.reject(new IdpRejectedError(`invalid_grant: ${token} is not valid`));
    }
    live = `rt-${++issued}`;
    return Promise.resolve({
      claims: ALICE,
      refreshToken: live,
      refreshExpiresAt: undefined,
      idToken: "x",
    });
  };
  return { refresh, presented };
}

/** Alice's session s-1 (rt-1) on cid 4, with session writes failing while `down.writes`. */
async function setup() {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const update = store.updateSession.bind(store);
  const down = { writes: false };
  store.updateSession = (session) =>
    down.writes
      ? Promise.reject(new StoreUnavailableError("Redis did not answer within store_timeout"))
      : update(session);
  const idp = oneUseIdp();
  const t = testAdmission({ store, now: () => T0, reauthCheck: "refresh", refresh: idp.refresh });
  const stored = testSession({ resumable: true });
  await store.putSession(stored);
  return { store, idp, down, stored, ...t };
}

const REAUTH = {
  kind: "reauth",
  server: "default",
  cid: 4,
  kid: 3,
  commonName: "alice",
  clientIp: "198.51.100.7",
  username: "alice",
} as const;

Deno.test("a refresh token rotated while the store was down is presented at the next refresh, and then stored", async () => {
  const t = await setup();
  t.down.writes = true;
  const logs = await logsOf(() =>
    assertRejects(() =>
      t.admission.resume(REAUTH, t.stored, new RecordingCommander(), {
        resumable: true,
        refresh: true,
      })
    )
  );
  t.down.writes = false;

  const recheck = await t.admission.recheckSession("s-1", "default");
  assertEquals(t.idp.presented, ["rt-1", "rt-2"]);
  assertEquals(recheck?.admit, true);
  assertEquals((await t.store.getSession("s-1"))?.refreshToken, "rt-3");
  // Stored: nothing kept any more, the store's token is presented.
  assertEquals((await t.admission.recheckSession("s-1", "default"))?.admit, true);
  assertEquals(t.idp.presented, ["rt-1", "rt-2", "rt-3"]);
  assertEquals([t.revoked, t.killed], [[], []]);
  const warning = logs.find((l) => l.text.includes("could not be stored"));
  assertEquals(warning?.level, "warning");
  // Never a token in the log.
  assertEquals(JSON.stringify(warning?.properties).includes("rt-2"), false);
});

Deno.test("a refresh token rotated while the store was down is written by the session's next write", async () => {
  const t = await setup();
  t.down.writes = true;
  await assertRejects(() =>
    t.admission.resume(REAUTH, t.stored, new RecordingCommander(), {
      resumable: true,
      refresh: true,
    })
  );
  t.down.writes = false;
  // A reconnect judged on the stored claims (no refresh) rebinds the session: a write.
  const commander = new RecordingCommander();
  const reconnect = { ...REAUTH, kind: "connect", cid: 9 } as const;
  await t.admission.resume(reconnect, t.stored, commander, { resumable: true, refresh: false });
  assertEquals(commander.commands.map((c) => c.kind), ["auth"]);
  const session = await t.store.getSession("s-1");
  assertEquals([session?.refreshToken, session?.cid], ["rt-2", 9]);
  assertEquals(t.idp.presented, ["rt-1"]);
});

Deno.test("UnstoredRefreshTokens replaces only the dead token the store holds, chains, and drops the oldest beyond its bound", async () => {
  const kept = new UnstoredRefreshTokens(getLogger("test"), 2);
  const s1 = testSession({ sessionId: "s-1", refreshToken: "rt-1" });
  assertEquals(kept.keep("s-1", "rt-1", { refreshToken: "rt-1", refreshExpiresAt: 5 }), false);
  assertEquals(kept.apply(s1), s1);
  kept.keep("s-1", "rt-1", { refreshToken: "rt-2", refreshExpiresAt: 5 });
  // The store still holds rt-1 when rt-2's successor could not be stored either.
  kept.keep("s-1", "rt-2", { refreshToken: "rt-3", refreshExpiresAt: 6 });
  assertEquals(kept.apply(s1).refreshToken, "rt-3");
  assertEquals(kept.apply(s1).refreshExpiresAt, 6);
  // Another instance stored a newer token meanwhile: left as it is.
  const newer = { ...s1, refreshToken: "rt-9" };
  assertEquals(kept.apply(newer), newer);

  kept.keep("s-2", "a-1", { refreshToken: "a-2", refreshExpiresAt: undefined });
  const logs = await logsOf(() => {
    kept.keep("s-3", "b-1", { refreshToken: "b-2", refreshExpiresAt: undefined });
    return Promise.resolve();
  });
  assertEquals(logs.map((l) => l.level), ["warning"]);
  assertEquals(kept.apply(s1), s1);
  kept.written("s-2");
  const s2 = testSession({ sessionId: "s-2", refreshToken: "a-1" });
  assertEquals(kept.apply(s2), s2);
  assertEquals(
    kept.apply(testSession({ sessionId: "s-3", refreshToken: "b-1" })).refreshToken,
    "b-2",
  );
});
