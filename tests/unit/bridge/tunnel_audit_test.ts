/**
 * TunnelAudit's memory (tunnel_audit.ts) is capped: at most MAX_TUNNELS named tunnels and
 * MAX_UNNAMED_DEPARTURES departures waiting for a late `adopt`, the oldest dropped first, the
 * newest kept. What a dropped entry costs: an `established` line that reads the store for its user
 * (here a store that knows none: no user), or a `client_left` line that is never written. A
 * departure whose line was written waits no more, and only it (established_from_admission_test
 * shows that it leaves its place to one that waits).
 */
import { getLogger } from "@logtape/logtape";
import { assertEquals } from "../../support/assert.ts";
import type { AuditSubject } from "../../../src/audit.ts";
import { RunTold } from "../../../src/bridge/runs_told.ts";
import {
  MAX_TUNNELS,
  MAX_UNNAMED_DEPARTURES,
  TunnelAudit,
} from "../../../src/bridge/tunnel_audit.ts";
import { EVENTS_T0, testEnv } from "../../support/client_events_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";

const RUN = "4242@1800000000:CONNECTED";
const NEXT_RUN = "4243@1800000100:CONNECTED";

/** A TunnelAudit in run RUN over a store that knows no session; `reads`: the cids it was asked. */
function testTunnels() {
  const reads: number[] = [];
  const tunnels = new TunnelAudit({
    server: "default",
    store: {
      findSessionIdByCid: (_server, cid) => {
        reads.push(cid);
        return Promise.resolve(undefined);
      },
      getSession: () => Promise.resolve(undefined),
    },
    bypassCommonNames: () => [],
    authPendingTimeoutMs: () => 60_000,
    log: getLogger("test"),
  });
  tunnels.runIs(RUN);
  return { tunnels, reads };
}

/** The user of the tunnel on `cid`, one per cid. */
function userOf(cid: number): AuditSubject {
  return {
    server: "default",
    cid,
    commonName: "alice",
    clientIp: "198.51.100.7",
    username: `user-${cid}`,
    subject: `u-${cid}`,
    sessionId: `s-${cid}`,
    browserIp: undefined,
  };
}

/** The `[event, cid, username]` of each audit line `work` writes. */
async function auditLines(work: () => Promise<void>): Promise<unknown[][]> {
  const lines = await logsOf(work);
  return lines.filter((line) => line.category === "audit").map(({ properties }) => [
    properties["event"],
    properties["cid"],
    properties["username"],
  ]);
}

/** The oldest, the second oldest and the newest of `count` cids from 1. */
function edgesOf(count: number): number[] {
  return [1, 2, count];
}

Deno.test("TunnelAudit names at most MAX_TUNNELS tunnels: the oldest is dropped, and its ESTABLISHED reads the store", async () => {
  const { tunnels, reads } = testTunnels();
  const admitted = MAX_TUNNELS + 1;
  for (let cid = 1; cid <= admitted; cid++) tunnels.admitted(cid, RUN, userOf(cid));
  const lines = await auditLines(async () => {
    // No session_id: the store is asked by cid.
    for (const cid of edgesOf(admitted)) {
      await tunnels.established(cid, testEnv({ session_id: "" }));
    }
  });
  assertEquals(lines, [
    ["established", 1, ""],
    ["established", 2, "user-2"],
    ["established", admitted, `user-${admitted}`],
  ]);
  assertEquals(reads, [1], "only the dropped tunnel reads the store");
});

Deno.test("TunnelAudit keeps at most MAX_UNNAMED_DEPARTURES departures for a late adopt: the oldest is dropped, and has no client_left", async () => {
  const { tunnels } = testTunnels();
  const departed = MAX_UNNAMED_DEPARTURES + 1;
  const run = new RunTold(RUN);
  const env = testEnv({ time_duration: "60" });
  for (let cid = 1; cid <= departed; cid++) tunnels.departed(cid, env, EVENTS_T0, run);
  const lines = await auditLines(() => {
    for (const cid of edgesOf(departed)) tunnels.adopt(cid, RUN, userOf(cid));
    return Promise.resolve();
  });
  assertEquals(lines, [
    ["client_left", 2, "user-2"],
    ["client_left", departed, `user-${departed}`],
  ]);
});

Deno.test("a DISCONNECT of the run before, its session's line written when tried again, leaves the new run's departure on its cid waiting for its adopt", async () => {
  const { tunnels } = testTunnels();
  const env = testEnv({ time_duration: "60" });
  const earlier = tunnels.departed(7, env, EVENTS_T0, new RunTold(RUN));
  // OpenVPN restarted while that DISCONNECT waited to be tried again; cid 7 is another client's.
  tunnels.runIs(NEXT_RUN);
  tunnels.departed(7, env, EVENTS_T0 + 1, new RunTold(NEXT_RUN));
  tunnels.sessionLeftAudited(earlier);
  const lines = await auditLines(() => {
    tunnels.adopt(7, NEXT_RUN, userOf(7));
    return Promise.resolve();
  });
  assertEquals(lines, [["client_left", 7, "user-7"]]);
});
