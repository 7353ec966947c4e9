/**
 * A revocation's kill waits in Redis for a holder while nobody holds the link, past its
 * requester's deadline: a real redis-server, nobody taking the item until seconds after the
 * deadline plus the 5 s every item's key is otherwise kept, then a holder's WorkRunner.
 */
import { getLogger } from "../../../src/log.ts";
import { systemClock } from "../../../src/clock.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { WorkRunner } from "../../../src/cluster/work_runner.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import type { WorkOp } from "../../../src/cluster/work_item.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const RUN = "28115@1795879225:CONNECTED";
/** Past an item's deadline plus the 5 s its key outlives it (work_queue.ts, ITEM_GRACE_MS). */
const NOBODY_HOLDS_MS = 5_500;

Deno.test({
  name: "work: a kill naming its client's run waits in Redis for a holder long past its " +
    "deadline, and is handed on to be sent in that run; one without a run is not kept",
  fn: async () => {
    const server = await RedisServer.start();
    const redis = await connectRedis(redisSettings(server.url, "cluster-test:"));
    const keys = new ClusterKeys("cluster-test:");
    const queue = new WorkQueue(redis, keys, systemClock);
    const deferred: Array<[number, string | undefined]> = [];
    const openvpn = new RecordingCommander();
    const holder = new WorkRunner({
      queue,
      server: "udp",
      token: 4,
      commander: openvpn,
      clock: systemClock,
      log: getLogger("cluster-test"),
      notified: () => false,
      notifiedPollMs: 3_000,
      deferKill: (cid, run) => deferred.push([cid, run]),
    });
    try {
      await redis.set(keys.fence("udp"), "4");
      // Queued as a holder letting its link go queues the kills it held (leased_link.ts).
      const kill = (cid: number, openvpnRun?: string): WorkOp => ({
        op: "kill",
        cid,
        message: "bye",
        ...(openvpnRun === undefined ? {} : { openvpnRun }),
      });
      await queue.enqueue("udp", kill(4, RUN), 200);
      await queue.enqueue("udp", kill(5), 200);
      // Its deadline is still the one it was queued with.
      const [first] = await queue.take("udp", 1);
      assert(first!.msLeft > 0 && first!.msLeft <= 200, `deadline kept: ${first!.msLeft} ms`);
      const [keptFor] = await redis.keys(`${keys.prefix}w:udp:kill:4:*`);
      assert((await redis.pttl(keptFor!)) <= 200 + 12 * 3_600_000, "kept 12 hours at most");
      // Nobody holds the link meanwhile (the whole cluster restarting, say).
      await new Promise((resolve) => setTimeout(resolve, NOBODY_HOLDS_MS));
      holder.start();
      const deadline = Date.now() + 10_000;
      while (await redis.llen(keys.queue("udp")) + await redis.llen(keys.running("udp")) > 0) {
        if (Date.now() > deadline) throw new Error("Timed out waiting for the items' outcomes");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assertEquals(deferred, [[4, RUN]], "the kill with a run is handed on, the other dropped");
      assertEquals(openvpn.commands, [], "neither is carried out as if on time");
    } finally {
      holder.stop();
      redis.disconnect();
      await server.dispose();
    }
  },
});
