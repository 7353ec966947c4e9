/**
 * Naming OpenVPN's runs (openvpn_run.ts) from its `pid` and its state history: the history a
 * real 2.6.14 printed with `state all` in the e2e lab, where management-hold was released at
 * once and two SIGUSR1 in a row gave CONNECTED twice in one second.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  MAX_OPENVPN_RUN_CHARS,
  openvpnRun,
  type OpenvpnState,
  pidFromReply,
  STATE_HISTORY_SIZE,
  StateHistory,
  statesFromReply,
} from "../../../src/management/openvpn_run.ts";

const PID = 28115;

/** `state all` after two SIGUSR1 and two SIGHUP, each sent once the last CONNECTED came. */
const MEASURED = [
  "1796534210,CONNECTING,,,,,,",
  "1796534210,ASSIGN_IP,,10.201.216.1,,,,",
  "1796534210,CONNECTED,SUCCESS,10.201.216.1,,,10.200.216.1,1194",
  "1796534211,RECONNECTING,SIGUSR1,,,,,",
  "1796534211,ASSIGN_IP,,10.201.216.1,,,,",
  "1796534211,CONNECTED,SUCCESS,10.201.216.1,,,10.200.216.1,1194",
  "1796534211,RECONNECTING,SIGUSR1,,,,,",
  "1796534211,ASSIGN_IP,,10.201.216.1,,,,",
  "1796534211,CONNECTED,SUCCESS,10.201.216.1,,,10.200.216.1,1194",
  "1796534211,RECONNECTING,SIGHUP,,,,,",
  "1796534212,ASSIGN_IP,,10.201.216.1,,,,",
  "1796534212,CONNECTED,SUCCESS,10.201.216.1,,,10.200.216.1,1194",
  "1796534212,RECONNECTING,SIGHUP,,,,,",
  "1796534213,ASSIGN_IP,,10.201.216.1,,,,",
  "1796534213,CONNECTED,SUCCESS,10.201.216.1,,,10.200.216.1,1194",
];

function states(lines: readonly string[]): OpenvpnState[] {
  const parsed = statesFromReply({ ticket: 1, type: "lines", lines, truncated: false });
  assert(parsed !== undefined, `not a state history: ${lines}`);
  return parsed;
}

/** The run a link that just came up names from `state all` printing `told`. */
const runAtLinkUp = (told: readonly OpenvpnState[], pid = PID) => new StateHistory(told).run(pid);

/**
 * The runs a link that came up on `atLinkUp` (undefined: `state all` not answered) names as each
 * of `live` comes in a `>STATE:` line.
 */
function runsLive(atLinkUp: readonly OpenvpnState[] | undefined, live: readonly OpenvpnState[]) {
  const history = new StateHistory(atLinkUp);
  return live.map((state) => (history.told(state), history.run(PID)));
}

/** `count` states all in second `time`, as restarts in place within it add them. */
const oneSecond = (time: number, count: number): OpenvpnState[] =>
  Array.from({ length: count }, (_, i) => ({ time, state: i % 2 ? "CONNECTED" : "RECONNECTING" }));

Deno.test("pid and state replies, as OpenVPN 2.6 sends them, are read; anything else is not", () => {
  assertEquals(pidFromReply({ ticket: 1, type: "success", message: "pid=28115" }), 28115);
  assertEquals(pidFromReply({ ticket: 1, type: "error", message: "pid=28115" }), undefined);
  assertEquals(pidFromReply({ ticket: 1, type: "success", message: "pid=x" }), undefined);
  assertEquals(states(MEASURED.slice(0, 2)), [
    { time: 1796534210, state: "CONNECTING" },
    { time: 1796534210, state: "ASSIGN_IP" },
  ]);
  // A history with a line that is no state could count a state too few times: not read.
  for (const lines of [["END"], ["garbage"], [",CONNECTED,"], [MEASURED[0]!, "x"]]) {
    assertEquals(statesFromReply({ ticket: 2, type: "lines", lines, truncated: false }), undefined);
  }
  assertEquals(
    statesFromReply({ ticket: 2, type: "lines", lines: MEASURED, truncated: true }),
    undefined,
  );
  assertEquals(statesFromReply({ ticket: 2, type: "error", message: "x" }), undefined);
});

Deno.test("each state of the measured history names a run of its own, the first of its second and name as before", () => {
  const told = states(MEASURED);
  const runs = told.map((_, i) => runAtLinkUp(told.slice(0, i + 1)));
  assertEquals(new Set(runs).size, told.length, runs.join(" "));
  assertEquals(runs[2], "28115@1796534210:CONNECTED");
  assertEquals(runs[5], "28115@1796534211:CONNECTED");
  // The second SIGUSR1's run: its CONNECTED came in the same second as the first's.
  assertEquals(runs[8], "28115@1796534211:CONNECTED#2");
  assertEquals(runs[3], "28115@1796534211:RECONNECTING");
  assertEquals(runs[6], "28115@1796534211:RECONNECTING#2");
  assertEquals(runs[7], "28115@1796534211:ASSIGN_IP#2");
  // Another process of OpenVPN: another run, whatever its states.
  assert(runAtLinkUp(told, PID + 1) !== runs.at(-1));
});

Deno.test("a link that followed the restarts live names each run as a link that came up then reads it from `state all`", () => {
  const told = states(MEASURED);
  for (let upAt = 0; upAt < told.length; upAt++) {
    const live = runsLive(told.slice(0, upAt), told.slice(upAt));
    const read = told.slice(upAt).map((_, i) => runAtLinkUp(told.slice(0, upAt + i + 1)));
    assertEquals(live, read, `link up after ${upAt} states`);
  }
});

Deno.test("a history OpenVPN may have cut names no run while it cannot tell the count of the latest state's second", () => {
  const T = 1_796_534_300;
  // Full, all of one second: states of that second may have been dropped before these.
  assertEquals(runAtLinkUp(oneSecond(T, STATE_HISTORY_SIZE)), undefined);
  // One fewer: the whole history, nothing dropped.
  assertEquals(
    runAtLinkUp(oneSecond(T, STATE_HISTORY_SIZE - 1)),
    `${PID}@${T}:RECONNECTING#50`,
  );
  // Full, its oldest of an earlier second: nothing of the latest second was dropped.
  const older = [{ time: T - 1, state: "CONNECTED" }, ...oneSecond(T, STATE_HISTORY_SIZE - 1)];
  assertEquals(runAtLinkUp(older), `${PID}@${T}:RECONNECTING#50`);
  // Followed live to the size, as a link reading it then could not know the count...
  assertEquals(runsLive(oneSecond(T, 98), oneSecond(T, 2)), [
    `${PID}@${T}:RECONNECTING#50`,
    undefined,
  ]);
  // ...until a state of a later second comes, all of whose second is held.
  assertEquals(
    runsLive(oneSecond(T, 100), [{ time: T + 1, state: "CONNECTED" }]),
    [`${PID}@${T + 1}:CONNECTED`],
  );
});

Deno.test("without OpenVPN's pid or history, or with a state name OpenVPN does not use, no run is named", () => {
  const told = states(MEASURED);
  assertEquals(new StateHistory(told).run(undefined), undefined);
  assertEquals(new StateHistory([]).run(PID), undefined);
  // `state all` not answered: states of the second the link came up in may be missing, none of
  // a later second.
  const T = 1_796_534_300;
  assertEquals(
    runsLive(undefined, [{ time: T, state: "RECONNECTING" }, { time: T + 1, state: "CONNECTED" }]),
    [undefined, `${PID}@${T + 1}:CONNECTED`],
  );
  for (const state of ["connected", "X".repeat(33)]) {
    assertEquals(runAtLinkUp([{ time: T, state }]), undefined, state);
  }
});

Deno.test("the longest run name OpenVPN's replies can make fits the stored bound", () => {
  const longest = openvpnRun(
    9_999_999_999,
    { time: 999_999_999_999_999, state: "X".repeat(32) },
    STATE_HISTORY_SIZE,
  );
  assert(longest.length <= MAX_OPENVPN_RUN_CHARS, longest);
});
