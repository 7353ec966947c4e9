/**
 * How a submitting instance waits for its work item's outcome: told by the outcome channel, it
 * reads at once; it also reads now and then, often while no notifications arrive, seldom while
 * they do. Redis is a fake that records the reads; time is a FakeClock.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import type { WorkOutcome } from "../../../src/cluster/work_item.ts";

/** A sign-in's answer: its key is known ahead (work_item.ts, workKey). */
const OP = {
  op: "auth",
  cid: 7,
  kid: 1,
  lines: [],
  signIn: { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "28115@1795879225:CONNECTED" },
} as const;
const KEY = "7:1:run=28115@1795879225:CONNECTED";

function setup(notified: boolean) {
  const clock = new FakeClock();
  const keys = new ClusterKeys("t:");
  const redis = {
    outcome: null as string | null,
    reads: 0,
    eval: () => Promise.resolve(1),
    get(key: string) {
      assertEquals(key, keys.outcome("vpn1", KEY));
      this.reads++;
      return Promise.resolve(this.outcome);
    },
  };
  const queue = new WorkQueue(redis as never, keys, clock, () => notified);
  let settled: WorkOutcome | undefined;
  void queue.submit("vpn1", OP, 10_000).then((outcome) => (settled = outcome));
  return { clock, redis, queue, settled: () => settled };
}

/** Lets the submit's awaits run (no time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

Deno.test("a recorded outcome that is announced is read at once, without waiting for a poll", async () => {
  const t = setup(true);
  await settle();
  assertEquals(t.redis.reads, 1, "read once right after queuing");
  t.redis.outcome = "ok";
  t.queue.outcomeRecorded("vpn1", KEY);
  await settle();
  assertEquals(t.settled(), { kind: "ok" });
  assertEquals(t.redis.reads, 2);
  assertEquals(t.clock.pendingTimers, 0, "its poll timer is cleared");
});

Deno.test("an announcement for another key or server wakes nobody", async () => {
  const t = setup(true);
  await settle();
  t.redis.outcome = "ok";
  t.queue.outcomeRecorded("vpn1", "8:1");
  t.queue.outcomeRecorded("vpn2", KEY);
  await settle();
  assertEquals(t.redis.reads, 1);
  assertEquals(t.settled(), undefined);
});

Deno.test("while notifications arrive, a missed one is made up by a read every 500 ms", async () => {
  const t = setup(true);
  await settle();
  t.redis.outcome = "refused:client gone";
  t.clock.advance(499);
  await settle();
  assertEquals(t.redis.reads, 1);
  t.clock.advance(1);
  await settle();
  assertEquals(t.settled(), { kind: "refused", message: "client gone" });
});

Deno.test("without notifications the outcome is read every 50 ms", async () => {
  const t = setup(false);
  await settle();
  for (let i = 0; i < 3; i++) {
    t.clock.advance(50);
    await settle();
  }
  assertEquals(t.redis.reads, 4);
  t.redis.outcome = "ok";
  t.clock.advance(50);
  await settle();
  assertEquals(t.settled(), { kind: "ok" });
});

Deno.test("wakeAll() (the subscriber came back) makes every waiter read now", async () => {
  const t = setup(true);
  await settle();
  t.redis.outcome = "ok";
  t.queue.wakeAll();
  await settle();
  assertEquals(t.settled(), { kind: "ok" });
});

Deno.test("with no outcome recorded, the requester waits past the deadline for a holder that started just before it, then reports it expired", async () => {
  const t = setup(false);
  await settle();
  // The 10 s deadline passed: a holder may have started the item at 9 999 ms.
  for (let at = 0; at < 10_000; at += 50) {
    t.clock.advance(50);
    await settle();
  }
  assertEquals(t.settled(), undefined, "still waiting for the holder's outcome at the deadline");
  // The grace (2 polls and a second) runs out: nobody waits forever.
  for (let at = 0; at < 1_100; at += 50) {
    t.clock.advance(50);
    await settle();
  }
  assertEquals(t.settled(), { kind: "expired" });
  assertEquals(t.clock.pendingTimers, 0, "its poll timer is cleared");
});
