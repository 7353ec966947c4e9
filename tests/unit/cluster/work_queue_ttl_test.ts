/**
 * How long a queued work item's key outlives its deadline (docs/cluster.md, "Bounded"): 5 s,
 * but 12 hours for a kill that names its client's run, whose session is gone already and which
 * must not vanish because no instance held the link for a while. Redis is a fake that records
 * the TTL the ENQUEUE script is given; the expiry itself is in
 * tests/integration/cluster/kill_waits_for_holder_test.ts.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import type { WorkOp } from "../../../src/cluster/work_item.ts";

const RUN = "28115@1795879225:CONNECTED";
const HOUR = 3_600_000;

/** The TTL (ms) the key of `op`, queued to be done within `waitMs`, is given. */
async function ttlOf(op: WorkOp, waitMs: number): Promise<number> {
  const calls: unknown[][] = [];
  const redis = {
    eval: (...args: unknown[]) => {
      calls.push(args);
      return Promise.resolve(1);
    },
  };
  const queue = new WorkQueue(redis as never, new ClusterKeys("t:"), new FakeClock());
  await queue.enqueue("vpn1", op, waitMs);
  assertEquals(calls.length, 1);
  // ENQUEUE's arguments after its 3 keys: the item's key, its encoding, its TTL.
  return Number(calls[0]![7]);
}

Deno.test("a kill that names its client's run is kept 12 hours past its deadline", async () => {
  assertEquals(
    await ttlOf({ op: "kill", cid: 4, message: "bye", openvpnRun: RUN }, 200),
    200 + 12 * HOUR,
  );
});

Deno.test("a kill without a run, and a sign-in's answer, are kept 5 s past their deadline", async () => {
  assertEquals(await ttlOf({ op: "kill", cid: 5, message: "bye" }, 200), 200 + 5_000);
  const auth: WorkOp = {
    op: "auth",
    cid: 7,
    kid: 1,
    lines: [],
    signIn: { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: RUN },
  };
  assertEquals(await ttlOf(auth, 200), 200 + 5_000);
});
