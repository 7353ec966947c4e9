import { assertEquals, assertThrows } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";

Deno.test("FakeClock.advance() throws, not spins, when a callback re-arms a timer for the instant it runs at", () => {
  const clock = new FakeClock(0);
  // What ExpiryQueue did with its due comparison made strict: a 0 ms timer over an entry it
  // never takes as due, re-armed for ever.
  const rearm = () => void clock.setTimeout(rearm, 0);
  clock.setTimeout(rearm, 5);
  assertThrows(() => clock.advance(10), Error, "without time moving on");
});

Deno.test("FakeClock.advance() fires many timers due at one instant, and short chains of 0 ms timers", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  for (let i = 0; i < 1_000; i++) clock.setTimeout(() => fired++, 5);
  let chain = 0;
  const next = () => {
    if (++chain < 1_000) clock.setTimeout(next, 0);
  };
  clock.setTimeout(next, 5);
  clock.advance(10);
  assertEquals([fired, chain, clock.pendingTimers], [1_000, 1_000, 0]);
});
