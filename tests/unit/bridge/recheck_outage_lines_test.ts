/**
 * What the periodic re-check writes while the IdP cannot be asked, through the real admission
 * step and the real sink: one warning when the outage begins, with what `idp_unreachable` does
 * and the hint, and one line when a re-check reaches the IdP again, with how many sessions it
 * could not re-check; not a warning per session. Each refused client keeps its audit line.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { listBound, RecheckScheduler } from "../../../src/bridge/recheck_scheduler.ts";
import { IDP_UNREACHABLE_HINT } from "../../../src/bridge/idp_unreachable_hint.ts";
import { getLogger } from "../../../src/log.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { EVENTS_T0, testAdmission, testSession } from "../../support/client_events_fixture.ts";
import { linesLoggedBy } from "../../support/stderr_capture.ts";

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
 * `recovers`), and the re-checks stop: the text
 * lines at info and above (what the operator reads), and the clients killed.
 */
async function outage(idpUnreachable: "deny" | "allow", recovers = true) {
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
    await store.putSession(testSession({ sessionId: username, username, cid: 4 + i }));
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
  });
  return { lines: lines.filter((line) => !line.includes("[DBG]")), killed };
}

/** The text after a line's level and category. */
function body(line: string): string {
  return line.replace(/^.*?\] [^:]*: /, "");
}

Deno.test("an IdP outage at the periodic re-check (deny) is one warning with the hint and one line with the count, beside each client's audit line", async () => {
  const { lines, killed } = await outage("deny");
  // Each client disconnected in both rounds; the sessions are kept (README).
  assertEquals(killed.length, 6);
  const operational = lines.filter((line) => !line.includes("·audit:"));
  assertEquals(operational.map(body), [
    'Periodic re-check cannot ask the identity provider ("token: HTTP 503"): until a re-check ' +
    "reaches it again, the client of each session re-checked is disconnected and the session " +
    `kept for its reconnect; they are counted and told then; ${IDP_UNREACHABLE_HINT}`,
    "Periodic re-check reaches the identity provider again: 3 session(s) could not be " +
    "re-checked meanwhile (their clients disconnected, the sessions kept)",
  ]);
  assert(operational[0]!.includes("[WRN]"), operational[0]);
  assert(operational[1]!.includes("[INF]"), operational[1]);
  const refusals = lines.filter((line) => line.includes("·audit:"));
  assertEquals(refusals.length, 6);
  assert(refusals.every((line) => line.endsWith(': "idp_unreachable"')), refusals.join("\n"));
});

Deno.test("an IdP outage at the periodic re-check (allow) is one warning saying the clients stay, and one line with the count", async () => {
  const { lines, killed } = await outage("allow");
  assertEquals(killed, []);
  assertEquals(lines.map(body), [
    'Periodic re-check cannot ask the identity provider ("token: HTTP 503"): until a re-check ' +
    "reaches it again, each session re-checked is judged on what it stored and its client " +
    `stays connected; they are counted and told then; ${IDP_UNREACHABLE_HINT}`,
    "Periodic re-check reaches the identity provider again: 3 session(s) could not be " +
    "re-checked meanwhile (their clients kept connected on their stored sessions)",
  ]);
});

Deno.test("the re-checks stopping during an IdP outage tell how many sessions it kept from being re-checked", async () => {
  const { lines } = await outage("deny", false);
  assertEquals(lines.filter((line) => !line.includes("·audit:")).slice(1).map(body), [
    "Periodic re-check stopped while the identity provider could not be asked: 3 session(s) " +
    "could not be re-checked meanwhile (their clients disconnected, the sessions kept)",
  ]);
});
