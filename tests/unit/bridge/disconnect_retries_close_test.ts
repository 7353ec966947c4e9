/**
 * DisconnectRetries at a stop: close() leaves no timer and ends no session after it, even one a
 * pass had still to come to, and a DISCONNECT that comes after it is not kept.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type Departure, DisconnectRetries } from "../../../src/bridge/disconnect_retries.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setUp(end: (departure: Departure) => Promise<void>) {
  const clock = new FakeClock(1_800_000_000_000);
  const givenUp: string[] = [];
  const retries = new DisconnectRetries(
    end,
    clock,
    ({ cid }, why) => givenUp.push(`${cid} ${why}`),
  );
  return { clock, retries, givenUp };
}

Deno.test("DisconnectRetries.close() leaves no timer armed and keeps no DISCONNECT that comes after it", () => {
  const { clock, retries } = setUp(() => Promise.reject(new Error("store down")));
  retries.add({ cid: 1, at: clock.now() });
  assertEquals(clock.pendingTimers, 1);
  retries.close();
  assertEquals([retries.size, clock.pendingTimers], [0, 0], "held, timers after close()");
  retries.add({ cid: 2, at: clock.now() });
  assertEquals([retries.size, clock.pendingTimers], [0, 0], "held, timers after a late add()");
});

Deno.test("DisconnectRetries closed during a pass ends no further session in it", async () => {
  const tried: number[] = [];
  const { clock, retries } = setUp(({ cid }) => {
    tried.push(cid);
    if (cid === 1) retries.close(); // the service stops while the first one is being ended
    return Promise.resolve();
  });
  retries.add({ cid: 1, at: clock.now() });
  retries.add({ cid: 2, at: clock.now() });
  clock.advance(1_000);
  await settle();
  assertEquals(tried, [1], "sessions ended by the pass");
  assertEquals([retries.size, clock.pendingTimers], [0, 0]);
});
