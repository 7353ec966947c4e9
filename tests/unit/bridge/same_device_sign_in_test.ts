/**
 * max_per_user and the same device signing in again: a session of the same certificate name on
 * the same server is replaced, not counted (session_limit.ts, replacedBy). A client that crashed
 * keeps its instance at OpenVPN until its ping timeout (120 s with keepalive 10 60), and under
 * deny_new its new sign-in was refused all that time. Its audit line says `replaced`, not
 * `max_per_user`: the user reconnected, they did not hit the limit.
 */
import { assertEquals } from "../../support/assert.ts";
import type { EndReport } from "../../../src/bridge/session_end.ts";
import type { LimitEndReason, SessionLimitAction } from "../../../src/bridge/session_limit.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0 as T0,
  testAdmission,
  testFinishedLogin,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { clientKill } from "../../../src/management/commands.ts";
import { logsOf } from "../../support/log_capture.ts";

/** The kill of a session max_per_user ended: its user is told why (session_end.ts, KILL_TEXT). */
const displacedKill = (cid: number) =>
  `client-kill ${cid} "RESTART,You signed in on another device"`;

/**
 * Alice's sessions `earlier` stored, then her sign-in with certificate `commonName` on cid 5 of
 * `default`, under max_per_user `max` and `action`: what became of it and of her sessions, and
 * the cid and reason of each `session_ended` audit line.
 */
async function signInAgain(
  earlier: Array<Partial<Session>>,
  { commonName = "alice", max = 1, action = "deny_new" as SessionLimitAction } = {},
) {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  let endAll: (ids: string[], reason: LimitEndReason) => Promise<EndReport> = () =>
    Promise.reject(new Error("unwired"));
  const { admission, sessionEnd, killed, revoked } = testAdmission({
    store,
    now: () => T0,
    sessionLimit: { maxPerUser: max, action, end: (ids, reason) => endAll(ids, reason) },
  });
  endAll = (ids, reason) => sessionEnd.endAll(ids, reason);
  for (const overrides of earlier) await store.putSession(testSession(overrides));
  const login = testPendingLogin({ id: "L2", cid: 5, sessionId: "s-new", commonName });
  let outcome;
  const logs = await logsOf(async () => {
    outcome = await admission.admitLogin(testFinishedLogin(login), new RecordingCommander());
  });
  const ended = logs.filter((line) => line.properties.event === "session_ended")
    .map((line) => [line.properties.cid, line.properties.reason]);
  const sessions = (await store.findSessionsBySubject("u-1")).map((s) => s.sessionId).sort();
  // As OpenVPN gets them (the command module quotes and escapes the message).
  const kills = killed.map((command) =>
    command.kind === "kill" ? clientKill(command.cid, command.message).text : command.kind
  );
  return { outcome: outcome!.kind, sessions, killed: kills, revoked, ended };
}

Deno.test("deny_new: the same certificate signing in again while OpenVPN still holds its crashed instance replaces that session and kills its cid", async () => {
  // s-1: alice's certificate `alice`, held on cid 4 of `default` (testSession).
  assertEquals(await signInAgain([{ resumable: true }]), {
    outcome: "admitted",
    sessions: ["s-new"],
    killed: [displacedKill(4)],
    revoked: ["rt-1"],
    ended: [[4, "replaced"]],
  });
});

Deno.test("kill_oldest: the same certificate's earlier session is replaced, and another device's older one is kept", async () => {
  const phone = { sessionId: "s-phone", cid: 2, commonName: "alice-phone", createdAt: T0 - 1 };
  assertEquals(await signInAgain([phone, {}], { max: 2, action: "kill_oldest" }), {
    outcome: "admitted",
    sessions: ["s-new", "s-phone"],
    killed: [displacedKill(4)],
    revoked: ["rt-1"],
    ended: [[4, "replaced"]],
  });
});

Deno.test("kill_oldest: another device's session beyond the limit is killed with the reason its user is shown", async () => {
  assertEquals(await signInAgain([{ commonName: "alice-laptop" }], { action: "kill_oldest" }), {
    outcome: "admitted",
    sessions: ["s-new"],
    killed: [displacedKill(4)],
    revoked: ["rt-1"],
    ended: [[4, "max_per_user"]],
  });
});

Deno.test("kill_oldest: one sign-in replacing its device's session and ending another device's beyond the limit audits each ending by its own reason", async () => {
  const phone = { sessionId: "s-phone", cid: 2, commonName: "alice-phone", createdAt: T0 - 1 };
  assertEquals(await signInAgain([phone, {}], { action: "kill_oldest" }), {
    outcome: "admitted",
    sessions: ["s-new"],
    killed: [displacedKill(4), displacedKill(2)],
    revoked: ["rt-1", "rt-1"],
    ended: [[4, "replaced"], [2, "max_per_user"]],
  });
});

Deno.test("deny_new: another certificate, another server, or no certificate at all still counts as another device", async () => {
  const cases: Array<[string, Partial<Session>, string]> = [
    ["another certificate", {}, "alice-phone"],
    ["another server", { server: "tcp" }, "alice"],
    ["no certificate on either", { commonName: "" }, ""],
  ];
  for (const [name, earlier, commonName] of cases) {
    assertEquals(
      await signInAgain([earlier], { commonName }),
      { outcome: "denied", sessions: ["s-1"], killed: [], revoked: ["rt-1"], ended: [] },
      name,
    );
  }
});
