import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { leaseTime } from "../../../src/cluster/lease_time.ts";

Deno.test("leaseTime follows the clocks while they agree", () => {
  const clock = new FakeClock();
  const time = leaseTime(clock);
  assertEquals(time(), 0);
  clock.advance(1_500);
  assertEquals(time(), 1_500);
});

Deno.test("leaseTime: a wall clock stepped back changes nothing, the monotonic clock moves it on", () => {
  const clock = new FakeClock();
  const time = leaseTime(clock);
  clock.advance(1_000);
  clock.stepWall(-60_000);
  assertEquals(time(), 1_000);
  clock.advance(500);
  assertEquals(time(), 1_500);
});

Deno.test("leaseTime: the wall clock's step forward (a suspended host waking) counts at once and never comes back", () => {
  const clock = new FakeClock();
  const time = leaseTime(clock);
  clock.stepWall(30_000);
  assertEquals(time(), 30_000);
  clock.stepWall(-30_000);
  clock.advance(100);
  assertEquals(time(), 30_100);
});
