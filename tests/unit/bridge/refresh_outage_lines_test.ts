/**
 * What the periodic re-check writes while the IdP cannot be asked, through the real admission
 * step and the real sink: one warning when the outage begins, with what `idp_unreachable` does
 * and the hint, and one line when a re-check reaches the IdP again, with how many sessions it
 * could not re-check; not a warning per session. Each refused client keeps its audit line.
 * (REAUTHs: reauth_outage_lines_test.ts.)
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { listBound, RecheckScheduler, sliceOf } from "../../../src/bridge/recheck_scheduler.ts";
import { IDP_UNREACHABLE_HINT } from "../../../src/bridge/idp_unreachable_hint.ts";
import { getLogger } from "../../../src/log.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { EVENTS_T0, testAdmission, testSession } from "../../support/client_events_fixture.ts";
import { lineBody, linesLoggedBy } from "../../support/stderr_capture.ts";

/** Ten one-second slices: a round in a few steps of the fake clock. */
const INTERVAL = 10_000;
const USERS = ["alice", "bob", "carol"];

/** Moves the fake time in small steps, letting the scheduler's promises settle between. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 250) {
    clock.advance(250);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * Three sessions re-checked for two rounds with the IdP down, then one with it back (unless not
 * `recovers`), and the re-checks stop, then the service (Admission.stopped): the text lines at
 * info and above (what the operator reads), and the clients killed. `withoutRefreshToken`: the
 * users whose session has none (so their re-check asks nobody).
 */
async function outage(
  idpUnreachable: "deny" | "allow",
  { recovers = true, withoutRefreshToken = [] as string[] } = {},
) {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  let down = true;
  const { admission, killed } = testAdmission({
    store,
    now: clock.now,
    recheckIntervalMs: INTERVAL,
    idpUnreachable,
    refresh: (token) =>
      down ? Promise.reject(new IdpUnreachableError("token: HTTP 503")) : Promise.resolve({
        claims: testSession().claims,
        refreshToken: token,
        refreshExpiresAt: undefined,
        idToken: undefined,
      }),
  });
  for (const [i, username] of USERS.entries()) {
    const refreshToken = withoutRefreshToken.includes(username) ? undefined : "rt-1";
    await store.putSession(
      testSession({ sessionId: username, username, cid: 4 + i, refreshToken }),
    );
  }
  const scheduler = new RecheckScheduler({
    intervalMs: INTERVAL,
    clock,
    servers: () => ["default"],
    listBound: (servers) => listBound(store, servers),
    recheck: ({ sessionId, server }) => admission.recheckSession(sessionId, server),
    log: getLogger("recheck"),
  });
  const lines = await linesLoggedBy("text", async () => {
    scheduler.start();
    await advance(clock, 2 * INTERVAL);
    down = !recovers;
    await advance(clock, INTERVAL);
    await scheduler.stop();
    admission.stopped();
  });
  return { lines: lines.filter((line) => !line.includes("[DBG]")), killed };
}

Deno.test("an IdP outage at the periodic re-check (deny) is one warning with the hint and one line with the count, beside each client's audit line", async () => {
  const { lines, killed } = await outage("deny");
  // Each client disconnected in both rounds; the sessions are kept (README).
  assertEquals(killed.length, 6);
  const operational = lines.filter((line) => !line.includes("·audit:"));
  assertEquals(operational.map(lineBody), [
    'Refresh checks cannot ask the identity provider ("token: HTTP 503"): until one reaches it ' +
    "again, each client checked is refused (a renegotiation, a reconnect) or disconnected (the " +
    "periodic re-check), and its session kept for its reconnect; they are counted and told " +
    `then; ${IDP_UNREACHABLE_HINT}`,
    "Refresh checks reach the identity provider again: 3 session(s) could not be re-checked " +
    "meanwhile (their clients refused or disconnected, the sessions kept)",
  ]);
  assert(operational[0]!.includes("[WRN]"), operational[0]);
  assert(operational[1]!.includes("[INF]"), operational[1]);
  const refusals = lines.filter((line) => line.includes("·audit:"));
  assertEquals(refusals.length, 6);
  assert(refusals.every((line) => line.endsWith(': "idp_unreachable"')), refusals.join("\n"));
});

Deno.test("an IdP outage at the periodic re-check (allow) is one warning saying the clients are judged on their sessions, and one line with the count", async () => {
  const { lines, killed } = await outage("allow");
  assertEquals(killed, []);
  assertEquals(lines.map(lineBody), [
    'Refresh checks cannot ask the identity provider ("token: HTTP 503"): until one reaches it ' +
    "again, each client checked is judged on what its session stored, and stays connected or " +
    "is let in unless the policy now refuses that; they are counted and told then; " +
    IDP_UNREACHABLE_HINT,
    "Refresh checks reach the identity provider again: 3 session(s) could not be re-checked " +
    "meanwhile (their clients judged on their stored sessions)",
  ]);
});

Deno.test("the service stopping during an IdP outage tells how many sessions it kept from being re-checked", async () => {
  const { lines } = await outage("deny", { recovers: false });
  assertEquals(lines.filter((line) => !line.includes("·audit:")).slice(1).map(lineBody), [
    "Stopping while refresh checks cannot ask the identity provider: 3 session(s) could not be " +
    "re-checked meanwhile (their clients refused or disconnected, the sessions kept)",
  ]);
});

Deno.test("a re-check that does not ask the IdP (no refresh token) does not end its outage: one warning, one count of every session it kept from being re-checked", async () => {
  // Checked in this order in each round (slices by FNV-1a of the id): bob's between the others.
  assert(sliceOf("carol", 10) < sliceOf("bob", 10) && sliceOf("bob", 10) < sliceOf("alice", 10));
  const { lines } = await outage("deny", { withoutRefreshToken: ["bob"] });
  // Bob's session ends at its first re-check (NO_REFRESH_TOKEN), as README says.
  assertEquals(lines.filter((line) => line.includes("identity provider")).map(lineBody), [
    'Refresh checks cannot ask the identity provider ("token: HTTP 503"): until one reaches it ' +
    "again, each client checked is refused (a renegotiation, a reconnect) or disconnected (the " +
    "periodic re-check), and its session kept for its reconnect; they are counted and told " +
    `then; ${IDP_UNREACHABLE_HINT}`,
    "Refresh checks reach the identity provider again: 2 session(s) could not be re-checked " +
    "meanwhile (their clients refused or disconnected, the sessions kept)",
  ]);
});
