/**
 * A sign-in finished on the instance that holds the server's management link is written straight
 * onto that link: no work item in Redis, no waiting for its outcome. One finished on a standby
 * still goes through Redis to the holder (the control of what this test observes).
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { ClusterLab } from "../../support/cluster_lab.ts";
import { Redis } from "ioredis";

/** How many work items were queued so far: each is one LPUSH in the queue script. */
async function queuedItems(lab: ClusterLab): Promise<number> {
  const client = new Redis({ host: "127.0.0.1", port: lab.redis.port, lazyConnect: true });
  try {
    await client.connect();
    const stats = await client.info("commandstats");
    return Number(/cmdstat_lpush:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

Deno.test({
  name: "cluster: the holder sends its own client-auth on its link, a standby's goes through Redis",
  fn: () =>
    ClusterLab.withHolderAndStandby({}, async (lab, a, b) => {
      const before = await queuedItems(lab);
      const onHolder = await lab.aliceSignsInOn(a, a, 20);
      assertStringIncludes(onHolder.page.text, "You are connected");
      assertEquals(onHolder.auth?.connection, 1, "A, the holder, sent client-auth");
      assertEquals(await queuedItems(lab), before, "no work item for the holder's own sign-in");

      const onStandby = await lab.aliceSignsInOn(a, b, 21);
      assertStringIncludes(onStandby.page.text, "You are connected");
      assertEquals(onStandby.auth?.connection, 1, "A, the holder, sent client-auth");
      assert(await queuedItems(lab) > before, "the standby's sign-in was queued in Redis");
    }),
});
