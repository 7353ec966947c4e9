/**
 * What the periodic re-check (`recheck_interval`) records when it refuses a client: the
 * refusal is counted in `denials_total` and audited as `recheck_denied`, under the code a REAUTH
 * refused on the same answer of the IdP carries (one decision, Admission's #recheck), beside the
 * `session_ended` line of a session it ends. No client asked, so no client event is counted.
 */
import { assertEquals } from "../../support/assert.ts";
import { IdpRejectedError, IdpUnreachableError, OidcError } from "../../../src/oidc/errors.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  testAdmission,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type CapturedLine, logsOf } from "../../support/log_capture.ts";

type Refresh = () => Promise<RefreshResult>;

/** What a refusal did: the client's command (`kind cid`), the counts, the audit lines. */
interface Recorded {
  sent: string[];
  counted: string[];
  audit: string[];
  kept: boolean;
}

/** A refresh granted with rt-2, the IdP saying `claims` of alice now. */
function granted(claims: Record<string, unknown>): RefreshResult {
  return { claims, refreshToken: "rt-2", refreshExpiresAt: undefined, idToken: "x" };
}

/** The IdP's answer to a refresh: alice's claims now, or a failure. */
const answers = {
  "left the group": () =>
    Promise.resolve(granted({ sub: "u-1", preferred_username: "alice", groups: [] })),
  "disabled (invalid_grant)": () => Promise.reject(new IdpRejectedError("invalid_grant")),
  "unreachable": () => Promise.reject(new IdpUnreachableError("token: HTTP 503")),
  "refusing the bridge's client": () =>
    Promise.reject(new OidcError("idp_error", "IdP refused the refresh request (HTTP 401)")),
} satisfies Record<string, Refresh>;

function auditLines(lines: readonly CapturedLine[]): string[] {
  return lines.filter((line) => line.category === "audit")
    .map(({ properties }) => `${properties.event} ${properties.reason}`);
}

/** Alice's session on cid 4, re-checked by the periodic re-check with the IdP answering so. */
async function periodic(refresh: Refresh, stored: Partial<Session> = {}): Promise<Recorded> {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  const counted: string[] = [];
  const { admission, killed } = testAdmission({
    store,
    now: () => EVENTS_T0,
    recheckIntervalMs: 600_000,
    refresh,
    metrics: countingMetrics(counted),
  });
  await store.putSession(testSession(stored));
  const lines = await logsOf(() => admission.recheckSession("s-1", "default"));
  return {
    sent: killed.map((command) => `${command.kind} ${command.cid}`),
    counted,
    audit: auditLines(lines),
    kept: (await store.getSession("s-1")) !== undefined,
  };
}

/** Alice's REAUTH on cid 4 with reauth_check = "refresh", the IdP answering so. */
async function reauth(refresh: Refresh, stored: Partial<Session> = {}): Promise<Recorded> {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const counted: string[] = [];
  const t = testClientEvents({
    store,
    clock,
    reauthCheck: "refresh",
    refresh,
    metrics: countingMetrics(counted),
  });
  try {
    await store.putSession(testSession(stored));
    const lines = await logsOf(() => t.events.onReauth(4, 2, testEnv({})));
    return {
      sent: t.commander.commands.map((command) => `${command.kind} ${command.cid}`),
      counted,
      audit: auditLines(lines),
      kept: (await store.getSession("s-1")) !== undefined,
    };
  } finally {
    t.events.close();
  }
}

Deno.test("a client the periodic re-check refuses is counted and audited by the refusal's code, beside its session's ending", async () => {
  assertEquals(await periodic(answers["left the group"]), {
    sent: ["kill 4"],
    counted: ["denial group"],
    audit: ["session_ended recheck_failed", "recheck_denied group"],
    kept: false,
  });
  assertEquals(await periodic(answers["disabled (invalid_grant)"]), {
    sent: ["kill 4"],
    counted: ["denial recheck_failed"],
    audit: ["session_ended recheck_failed", "recheck_denied recheck_failed"],
    kept: false,
  });
  // A session with nothing to re-check with ends at its first re-check.
  assertEquals(await periodic(answers["left the group"], { refreshToken: undefined }), {
    sent: ["kill 4"],
    counted: ["denial recheck_failed"],
    audit: ["session_ended recheck_failed", "recheck_denied recheck_failed"],
    kept: false,
  });
});

Deno.test("a client the periodic re-check disconnects while keeping its session (IdP unreachable with deny, the bridge's client refused) is counted and audited too", async () => {
  assertEquals(await periodic(answers["unreachable"]), {
    sent: ["kill 4"],
    counted: ["denial idp_unreachable"],
    audit: ["recheck_denied idp_unreachable"],
    kept: true,
  });
  assertEquals(await periodic(answers["refusing the bridge's client"]), {
    sent: ["kill 4"],
    counted: ["denial recheck_failed"],
    audit: ["recheck_denied recheck_failed"],
    kept: true,
  });
});

Deno.test("the periodic re-check and a REAUTH's refresh check refuse on one answer of the IdP under one code, and end the same sessions", async () => {
  for (const [answer, refresh] of Object.entries(answers)) {
    const byRecheck = await periodic(refresh);
    const byReauth = await reauth(refresh);
    assertEquals(byRecheck.counted, byReauth.counted, answer);
    assertEquals(byRecheck.kept, byReauth.kept, answer);
    const reasons = (audit: string[]) => audit.map((line) => line.replace(/^\w+_denied /, ""));
    assertEquals(reasons(byRecheck.audit), reasons(byReauth.audit), answer);
  }
});

Deno.test("a periodic re-check refused after the refresh token expired counts session_expired, as a REAUTH of that session is refused", async () => {
  const expired = { refreshExpiresAt: EVENTS_T0 - 1 };
  assertEquals(await periodic(answers["disabled (invalid_grant)"], expired), {
    sent: ["kill 4"],
    counted: ["denial session_expired"],
    audit: ["session_ended idp_session_expired", "recheck_denied session_expired"],
    kept: false,
  });
  // The REAUTH does not ask the IdP: the token's expiry is known (REFRESH_TOKEN_EXPIRED).
  assertEquals((await reauth(answers["disabled (invalid_grant)"], expired)).counted, [
    "denial session_expired",
  ]);
});

Deno.test("a periodic re-check of a session ended elsewhere while the IdP answered refuses nobody: nothing killed, counted or audited", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  const counted: string[] = [];
  const { admission, killed, revoked } = testAdmission({
    store,
    now: () => EVENTS_T0,
    recheckIntervalMs: 600_000,
    refresh: async () => {
      // Another bridge instance revoked it meanwhile (it killed the client and audited that).
      await store.deleteSession("s-1");
      return granted(testSession().claims);
    },
    metrics: countingMetrics(counted),
  });
  await store.putSession(testSession());
  let outcome;
  const lines = await logsOf(async () => {
    outcome = await admission.recheckSession("s-1", "default");
  });
  assertEquals(outcome, undefined);
  assertEquals([killed, counted, auditLines(lines)], [[], [], []]);
  // The token the IdP just issued is nobody's.
  assertEquals(revoked, ["rt-2"]);
});
