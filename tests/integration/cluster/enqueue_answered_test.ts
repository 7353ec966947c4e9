/**
 * ENQUEUE: a request for a client request already answered joins that answer (its outcome is
 * kept a while) and queues nothing. OpenVPN takes one answer per client request; queued again,
 * the holder would send a sign-in's client-auth or client-deny a second time.
 */
import { systemClock } from "../../../src/clock.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import type { WorkOp } from "../../../src/cluster/work_item.ts";
import { assertEquals } from "../../support/assert.ts";
import { withRedisClient } from "../../support/redis_store_fixture.ts";

const PREFIX = "enqueue-answered:";
const TOKEN = 4;
/** A login id of this version (time part and random part). */
const SIGN_IN_ID = "BkZaQ" + "AAAAAAAAAAAAAAAAAAAAAA";
/** Keyed by cid, kid and run (work_item.ts, workKey): every request for it has the same key. */
const AUTH: WorkOp = {
  op: "auth",
  cid: 6,
  kid: 1,
  lines: ["push y"],
  signIn: { loginId: SIGN_IN_ID, openvpnRun: "28115@1795879225:CONNECTED" },
};

Deno.test("work: a sign-in's answer asked for again once recorded joins that outcome and is not queued again", () =>
  withRedisClient(PREFIX, async (redis) => {
    const keys = new ClusterKeys(PREFIX);
    await redis.set(keys.fence("udp"), String(TOKEN));
    const queue = new WorkQueue(redis, keys, systemClock);
    await queue.enqueue("udp", AUTH, 10_000);
    const taken = await queue.take("udp", 8);
    assertEquals(taken.length, 1);
    const key = taken[0]!.key;
    assertEquals(await queue.record("udp", TOKEN, key, { kind: "ok" }), true);
    assertEquals(await queue.take("udp", 8), [], "the answered item left the running list");
    // The requester (or another instance) asks again before the outcome runs out.
    await queue.enqueue("udp", AUTH, 10_000);
    assertEquals(await redis.llen(keys.queue("udp")), 0, "queued again");
    assertEquals(await queue.take("udp", 8), [], "handed to the holder again");
    assertEquals(await redis.get(keys.outcome("udp", key)), "ok", "the first outcome");
  }));
