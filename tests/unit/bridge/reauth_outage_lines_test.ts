/**
 * What REAUTHs and reconnects with `reauth_check = "refresh"` write while the IdP cannot be
 * asked, through the real events, admission step and sink: the outage told once (a warning when
 * it begins, a line with the count when the IdP answers again), and one line per request, its
 * decision's: the denial with the hint (deny), or its admission on the stored session (allow);
 * no warning per request beside it. Each refusal keeps its audit line. (The periodic re-check:
 * refresh_outage_lines_test.ts.)
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { IDP_UNREACHABLE_HINT } from "../../../src/bridge/idp_unreachable_hint.ts";
import { IdpRejectedError, IdpUnreachableError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { lineBody, linesLoggedBy } from "../../support/stderr_capture.ts";

const USERS = ["alice", "bob", "carol"];

/** What the IdP does with a refresh: fails to answer, grants it, or refuses the grant. */
type Idp = "down" | "up" | "refuses";

/**
 * Each user's session bound to its client (cid 4, 5, ...; `sessions` changes them), and the
 * REAUTHs of `script` in turn (a reconnect with the session's token on cid 10 where it says
 * so), each with the IdP as given: the text lines at info and above, and the answers sent
 * (`kind cid`).
 */
async function reauths(
  idpUnreachable: "deny" | "allow",
  script: readonly [username: string, idp: Idp, reconnect?: "reconnect"][],
  sessions: (session: Session) => Session = (session) => session,
) {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  let idp: Idp = "down";
  const t = testClientEvents({
    store,
    clock,
    reauthCheck: "refresh",
    idpUnreachable,
    refresh: (token) =>
      idp === "down"
        ? Promise.reject(new IdpUnreachableError("token: HTTP 503"))
        : idp === "refuses"
        ? Promise.reject(new IdpRejectedError("Refresh failed: invalid_grant"))
        : Promise.resolve({
          claims: testSession().claims,
          refreshToken: token,
          refreshExpiresAt: undefined,
          idToken: undefined,
        }),
  });
  for (const [i, username] of USERS.entries()) {
    await store.putSession(
      sessions(testSession({ sessionId: username, username, commonName: username, cid: 4 + i })),
    );
  }
  const lines = await linesLoggedBy("text", async () => {
    for (const [username, state, reconnect] of script) {
      idp = state;
      const env = testEnv({ common_name: username, session_id: username });
      if (reconnect === undefined) await t.events.onReauth(4 + USERS.indexOf(username), 1, env);
      else {
        env.set("session_state", "Authenticated");
        await t.events.onConnect(10, 1, env);
      }
    }
  });
  t.events.close();
  const sent = t.commander.commands.map((command) => `${command.kind} ${command.cid}`);
  return { lines: lines.filter((line) => !line.includes("[DBG]")), sent };
}

/** Every user renegotiates twice with the IdP down, then alice once with it back. */
const OUTAGE: [string, Idp][] = [...USERS, ...USERS].map((username) => [username, "down"]);

const DENY_BEGINS = 'Refresh checks cannot ask the identity provider ("token: HTTP 503"): until ' +
  "one reaches it again, each client checked is refused (a renegotiation, a reconnect) or " +
  "disconnected (the periodic re-check), and its session kept for its reconnect; they are " +
  `counted and told then; ${IDP_UNREACHABLE_HINT}`;

Deno.test("REAUTHs during an IdP outage (deny): one denial line each with the hint, the outage warned about once and its count told when the IdP answers", async () => {
  const { lines, sent } = await reauths("deny", [...OUTAGE, ["alice", "up"]]);
  assertEquals(sent, ["deny 4", "deny 5", "deny 6", "deny 4", "deny 5", "deny 6", "auth-nt 4"]);
  const operational = lines.filter((line) => !line.includes("·audit:"));
  const denied = (username: string, cid: number) =>
    `REAUTH of "${username}" (cid ${cid}, certificate "${username}") denied by the refresh ` +
    `check: idp_unreachable; ${IDP_UNREACHABLE_HINT}`;
  assertEquals(operational.map(lineBody), [
    DENY_BEGINS,
    denied("alice", 4),
    denied("bob", 5),
    denied("carol", 6),
    denied("alice", 4),
    denied("bob", 5),
    denied("carol", 6),
    "Refresh checks reach the identity provider again: 3 session(s) could not be re-checked " +
    "meanwhile (their clients refused or disconnected, the sessions kept)",
    'REAUTH of "alice" (cid 4) accepted after a refresh at the identity provider',
  ]);
  assert(operational[0]!.includes("[WRN]"), operational[0]);
  assert(operational.slice(1).every((line) => line.includes("[INF]")), operational.join("\n"));
  const refusals = lines.filter((line) => line.includes("·audit:"));
  assertEquals(refusals.length, 6, lines.join("\n"));
  assert(refusals.every((line) => line.endsWith(': "idp_unreachable"')), refusals.join("\n"));
});

Deno.test("REAUTHs during an IdP outage (allow): one line each saying it was admitted on its stored session, the outage warned about once", async () => {
  const { lines, sent } = await reauths("allow", [...OUTAGE, ["alice", "up"]]);
  assertEquals(sent, [
    "auth-nt 4",
    "auth-nt 5",
    "auth-nt 6",
    "auth-nt 4",
    "auth-nt 5",
    "auth-nt 6",
    "auth-nt 4",
  ]);
  const admitted = (username: string, cid: number) =>
    `REAUTH of "${username}" (cid ${cid}) accepted on its stored session: the identity provider ` +
    "could not be asked (idp_unreachable = allow)";
  assertEquals(lines.map(lineBody), [
    'Refresh checks cannot ask the identity provider ("token: HTTP 503"): until one reaches it ' +
    "again, each client checked is judged on what its session stored, and stays connected or " +
    "is let in unless the policy now refuses that; they are counted and told then; " +
    IDP_UNREACHABLE_HINT,
    admitted("alice", 4),
    admitted("bob", 5),
    admitted("carol", 6),
    admitted("alice", 4),
    admitted("bob", 5),
    admitted("carol", 6),
    "Refresh checks reach the identity provider again: 3 session(s) could not be re-checked " +
    "meanwhile (their clients judged on their stored sessions)",
    'REAUTH of "alice" (cid 4) accepted after a refresh at the identity provider',
  ]);
});

Deno.test("a REAUTH the policy refuses on its stored session during an IdP outage (allow) is one denial line, not said to be the refresh check's", async () => {
  const { lines, sent } = await reauths(
    "allow",
    [["alice", "down"]],
    (session) => ({ ...session, claims: { ...session.claims, groups: ["/others"] } }),
  );
  assertEquals(sent, ["deny 4"]);
  const operational = lines.filter((line) => !line.includes("·audit:")).slice(1);
  assertEquals(operational.length, 1, lines.join("\n"));
  assert(
    lineBody(operational[0]!).startsWith(
      'REAUTH of "alice" (cid 4, certificate "alice") denied: ',
    ),
    operational[0],
  );
});

Deno.test("the IdP refusing a refresh ends an outage as a grant does: it answered", async () => {
  const { lines } = await reauths("deny", [["alice", "down"], ["bob", "refuses"]]);
  assertEquals(lines.filter((line) => line.includes("Refresh checks")).map(lineBody), [
    DENY_BEGINS,
    "Refresh checks reach the identity provider again: 1 session(s) could not be re-checked " +
    "meanwhile (their clients refused or disconnected, the sessions kept)",
  ]);
});

Deno.test("a reconnect during an IdP outage is one line too: its denial (deny), or its admission on the stored session (allow)", async () => {
  const denied = await reauths("deny", [["alice", "down", "reconnect"]]);
  assertEquals(denied.sent, ["deny 10"]);
  assertEquals(denied.lines.filter((line) => !line.includes("·audit:")).map(lineBody), [
    DENY_BEGINS,
    'Token reconnect of "alice" (cid 10, certificate "alice") denied by the refresh check: ' +
    `idp_unreachable; ${IDP_UNREACHABLE_HINT}`,
  ]);
  const admitted = await reauths("allow", [["alice", "down", "reconnect"]]);
  assertEquals(admitted.sent, ["auth 10"]);
  assertEquals(admitted.lines.filter((line) => !line.includes("·audit:")).slice(1).map(lineBody), [
    'Token reconnect of "alice" (cid 10) accepted on its stored session: the identity provider ' +
    "could not be asked (idp_unreachable = allow)",
  ]);
});
