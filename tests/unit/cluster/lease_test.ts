import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import {
  deliveryWaitMs,
  Lease,
  LEASE_MAX_MS,
  LEASE_MIN_MS,
  leaseTiming,
  TAKEOVER_WORK_MS,
} from "../../../src/cluster/lease.ts";

const timing = leaseTiming(10_000);

Deno.test("lease timing: renewals three times a lease, standby retries within a second", () => {
  assertEquals(timing.renewEveryMs, 3_333);
  assertEquals(timing.retryEveryMs, 1_000);
  assertEquals(timing.marginMs, 500);
  assertEquals(leaseTiming(3_000).retryEveryMs, 600);
});

Deno.test("lease: a standby may not write; acquiring makes it the holder with its token", () => {
  const clock = new FakeClock();
  const lease = new Lease(timing);
  assertEquals(lease.mayWrite(clock.now()), false);
  assertEquals(lease.nextDelay(), timing.retryEveryMs);
  assertEquals(lease.acquired(7, clock.now()), "acquired");
  assertEquals(lease.token, 7);
  assertEquals(lease.mayWrite(clock.now()), true);
  assertEquals(lease.nextDelay(), timing.renewEveryMs);
});

Deno.test("lease: validity counts from when the request was sent, minus the margin", () => {
  const clock = new FakeClock();
  const lease = new Lease(timing);
  const sentAt = clock.now();
  clock.advance(1_500); // Redis answered late: the lease still runs from sentAt at the latest.
  lease.acquired(1, sentAt);
  clock.advanceTo(sentAt + 10_000 - 500 - 1);
  assertEquals(lease.mayWrite(clock.now()), true);
  clock.advance(1);
  assertEquals(lease.mayWrite(clock.now()), false, "no write once Redis may have expired it");
});

Deno.test("lease: renewals extend it; a holder whose renewals fail gives it up by its clock", () => {
  const clock = new FakeClock();
  const lease = new Lease(timing);
  lease.acquired(3, clock.now());
  clock.advance(3_000);
  lease.renewed(3, clock.now());
  clock.advance(9_000);
  assertEquals(lease.check(clock.now()), "none");
  assertEquals(lease.mayWrite(clock.now()), true);
  // No renewal gets through any more (Redis unreachable, or the process was paused).
  clock.advance(1_000);
  assertEquals(lease.mayWrite(clock.now()), false);
  assertEquals(lease.check(clock.now()), "lost");
  assertEquals(lease.token, undefined);
  assertEquals(lease.check(clock.now()), "none", "lost once");
});

Deno.test("lease: a renewal for an older token does not revive a lease lost meanwhile", () => {
  const clock = new FakeClock();
  const lease = new Lease(timing);
  lease.acquired(3, clock.now());
  lease.lost();
  lease.renewed(3, clock.now());
  assertEquals(lease.state, { kind: "standby" });
  lease.acquired(5, clock.now());
  lease.renewed(3, clock.now() + 5_000);
  const state = lease.state;
  assert(state.kind === "holding");
  assertEquals(state.validUntil, clock.now() + 9_500, "only token 5's own grant counts");
});

Deno.test("lease: a paused holder wakes past its deadline and may not write before any I/O", () => {
  const clock = new FakeClock();
  const lease = new Lease(timing);
  lease.acquired(9, clock.now());
  clock.advance(3_000);
  lease.renewed(9, clock.now());
  // SIGSTOP for 30 s: no timer ran, no renewal was sent. The first thing after SIGCONT might
  // be a client event wanting an answer.
  clock.time = clock.now() + 30_000;
  assertEquals(lease.mayWrite(clock.now()), false);
  assertEquals(lease.check(clock.now()), "lost");
});

Deno.test("a command queued just as the holder dies still leaves the new holder its takeover time", () => {
  for (const leaseMs of [LEASE_MIN_MS, 10_000, LEASE_MAX_MS]) {
    const timing = leaseTiming(leaseMs);
    // The holder renews at `renewedAt`, a standby queues a command then, and the holder dies.
    const renewedAt = 50_000;
    const queuedAt = renewedAt;
    const holder = new Lease(timing);
    holder.acquired(1, renewedAt - timing.renewEveryMs);
    holder.renewed(1, renewedAt);
    // Redis lets the lease go `leaseMs` after the renewal; the standby asks every retryEveryMs,
    // at any phase, and is granted the lease at its first request after that.
    for (let phase = 0; phase < timing.retryEveryMs; phase += 50) {
      let askedAt = phase;
      while (askedAt < renewedAt + leaseMs) askedAt += timing.retryEveryMs;
      const standby = new Lease(timing);
      standby.acquired(2, askedAt);
      assert(!holder.mayWrite(askedAt), "the old holder's fence has closed by then");
      assert(standby.mayWrite(askedAt));
      const left = queuedAt + deliveryWaitMs(timing) - askedAt;
      assert(
        left >= TAKEOVER_WORK_MS,
        `lease ${leaseMs} ms, phase ${phase} ms: ${left} ms left to connect and answer`,
      );
    }
  }
});
