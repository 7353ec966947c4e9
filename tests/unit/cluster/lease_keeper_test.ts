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
import { LeaseKeeper, type LeaseKeeperDeps } from "../../../src/cluster/lease_keeper.ts";
import { ACQUIRE, RELEASE, RENEW } from "../../../src/cluster/redis_scripts.ts";
import { ClusterKeys } from "../../../src/cluster/work_queue.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/**
 * bridge-a's keeper of server udp's lease over `redis`; its lease time read from `clock` and
 * its changes ignored unless given.
 */
function keeperOf(
  deps:
    & Pick<LeaseKeeperDeps, "redis" | "lease" | "clock">
    & Partial<Pick<LeaseKeeperDeps, "leaseTime" | "onChange">>,
): LeaseKeeper {
  return new LeaseKeeper({
    redis: deps.redis,
    keys: new ClusterKeys("t:"),
    server: "udp",
    instanceId: "bridge-a",
    lease: deps.lease,
    clock: deps.clock,
    leaseTime: deps.leaseTime ?? leaseTime(deps.clock),
    log: getLogger("test"),
    onChange: deps.onChange ?? (() => {}),
  });
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
  const keeper = keeperOf({ redis, lease, clock, onChange: (change) => changes.push(change) });
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

Deno.test("a renewal answered late extends the lease from when it was sent, not from when the answer came", async () => {
  const clock = new FakeClock();
  const time = leaseTime(clock);
  const timing = leaseTiming(9_000);
  const renewalsSentAt: number[] = [];
  let answered = 0;
  const redis = {
    eval: (script: string) => {
      if (script === ACQUIRE) return Promise.resolve(5);
      if (script === RENEW) {
        renewalsSentAt.push(time());
        // Redis applied it at once (at the latest); its answer took 2 s to come back.
        return new Promise((resolve) =>
          clock.setTimeout(() => {
            answered++;
            resolve(1);
          }, 2_000)
        );
      }
      return Promise.resolve(1);
    },
  } as unknown as Redis;
  const lease = new Lease(timing);
  const keeper = keeperOf({ redis, lease, clock, leaseTime: time });
  keeper.start();
  await settle();
  for (let step = 0; step < 100 && answered === 0; step++) {
    clock.advance(250);
    await settle();
  }
  assertEquals(answered, 1);
  const sentAt = renewalsSentAt[0]!;
  const state = lease.state;
  assertEquals(state.kind, "holding");
  // Redis may have extended it the moment the renewal was sent: the bound lease.ts documents
  // (sentAt + lease - margin), reached exactly, so the renewal did extend it.
  const validUntil = state.kind === "holding" ? state.validUntil : NaN;
  assertEquals(
    validUntil,
    sentAt + timing.leaseMs - timing.marginMs,
    `valid until ${validUntil}, renewal sent at ${sentAt}, answered at ${time()}`,
  );
  await keeper.stop();
});

Deno.test("a lease granted to a request still in flight at stop() is released at once, not left to run out", async () => {
  const clock = new FakeClock();
  const released: string[] = [];
  let grant = (_token: number) => {};
  const redis = {
    eval: (script: string, _keys: number, _key: string, holder: string) => {
      if (script === ACQUIRE) return new Promise((resolve) => (grant = resolve));
      if (script === RELEASE) released.push(holder);
      return Promise.resolve(1);
    },
  } as unknown as Redis;
  const changes: string[] = [];
  const lease = new Lease(leaseTiming(9_000));
  const keeper = keeperOf({ redis, lease, clock, onChange: (change) => changes.push(change) });
  keeper.start();
  await settle();
  await keeper.stop();
  // Redis granted it; the answer comes after the stop.
  grant(5);
  await settle();
  assertEquals(released, ["bridge-a#5"], "a standby takes over now, not a lease later");
  assertEquals(changes, [], "never used: the instance is stopping");
  assertEquals(lease.token, undefined);
});
