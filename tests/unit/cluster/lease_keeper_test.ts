/**
 * LeaseKeeper with a fake Redis and clock: a holder whose renewals get no answer gives the lease
 * up by its own clock, and deletes its key if it is still its own, so that a standby need not
 * wait out a lease nobody acts on.
 */
import type { Redis } from "ioredis";
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { getLogger } from "../../../src/log.ts";
import { Lease, leaseTiming } from "../../../src/cluster/lease.ts";
import { leaseTime } from "../../../src/cluster/lease_time.ts";
import { LeaseKeeper } from "../../../src/cluster/lease_keeper.ts";
import { ACQUIRE, RELEASE, RENEW } from "../../../src/cluster/redis_scripts.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

Deno.test("a holder whose renewals go unanswered gives the lease up by its clock and deletes its own key", async () => {
  const clock = new FakeClock();
  const released: string[] = [];
  const redis = {
    eval: (script: string, _keys: number, _key: string, holder: string) => {
      if (script === ACQUIRE) return Promise.resolve(5);
      // Applied or not, the answer never comes (Redis stalled, a network cut).
      if (script === RENEW) return new Promise(() => {});
      if (script === RELEASE) released.push(holder);
      return Promise.resolve(1);
    },
  } as unknown as Redis;
  const changes: string[] = [];
  const lease = new Lease(leaseTiming(9_000));
  const keeper = new LeaseKeeper({
    redis,
    keys: new ClusterKeys("t:"),
    server: "udp",
    instanceId: "bridge-a",
    lease,
    clock,
    leaseTime: leaseTime(clock),
    log: getLogger("test"),
    onChange: (change) => changes.push(change),
  });
  keeper.start();
  await settle();
  assertEquals(changes, ["acquired"]);
  for (let step = 0; step < 100 && changes.length < 2; step++) {
    clock.advance(250);
    await settle();
  }
  assertEquals(changes, ["acquired", "lost"]);
  assertEquals(released, ["bridge-a#5"]);
  await keeper.stop();
});
