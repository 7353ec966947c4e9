/**
 * OpenVPN restarted in place within the second of its last CONNECTED: with management-hold
 * released at once, two SIGUSR1 in a row gave `CONNECTED` twice in one second (2.6.14, measured:
 * tests/unit/management/openvpn_run_test.ts has the history). Named by time and state alone,
 * the run after it was the run before, and a DISCONNECT of the run before, handled after the
 * restart, took its client's own binding for one the new run made and left it (boundBefore):
 * that session stayed bound to a cid that names another client now.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { type OpenvpnState, StateHistory } from "../../../src/management/openvpn_run.ts";
import { boundBefore, RunTold } from "../../../src/bridge/runs_told.ts";

const PID = 4242;
const T = 1_800_000_000;
/** `state all` as the link came up: OpenVPN started in second T. */
const STARTED: OpenvpnState[] = [
  { time: T, state: "CONNECTING" },
  { time: T, state: "ASSIGN_IP" },
  { time: T, state: "CONNECTED" },
];
/** The `>STATE:` lines of a SIGUSR1 restart within that second. */
const RESTART: OpenvpnState[] = [
  { time: T, state: "RECONNECTING" },
  { time: T, state: "ASSIGN_IP" },
  { time: T, state: "CONNECTED" },
];

Deno.test("a restart in place within the second of the last CONNECTED gets a run name of its own", () => {
  const history = new StateHistory(STARTED);
  const before = history.run(PID);
  for (const state of RESTART) history.told(state);
  const after = history.run(PID);
  assert(before !== undefined && after !== undefined);
  assert(before !== after, `both runs are named ${before}`);
  // A bridge that comes up now (restarted, or another cluster instance) names it alike.
  assertEquals(new StateHistory([...STARTED, ...RESTART]).run(PID), after);
});

Deno.test("a DISCONNECT of the run before a same-second restart ends the departed client's binding, not the new run's", () => {
  const history = new StateHistory(STARTED);
  const first = new RunTold(history.run(PID));
  const departure = { cid: 0, at: T * 1000 + 10, run: first };
  // The restart: RECONNECTING, then ASSIGN_IP and CONNECTED, all within second T.
  let told = first;
  for (const state of RESTART) {
    history.told(state);
    told = told.followedBy(history.run(PID));
  }
  // The departed client's own binding, made in the first run before its DISCONNECT.
  assertEquals(boundBefore(departure, { openvpnRun: first.run, lastAuthAt: T * 1000 }), true);
  // One the new run made on the same cid (a client back with its token) stays.
  assertEquals(boundBefore(departure, { openvpnRun: told.run, lastAuthAt: T * 1000 }), false);
});
