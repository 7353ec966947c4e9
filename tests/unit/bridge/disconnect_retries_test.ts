/**
 * DisconnectRetries: a departure whose session could not be ended is tried again with a delay
 * that doubles while the store stays down (1 s, 2 s, ... 60 s) and starts over once it works;
 * past MAX_HELD the oldest is given up, and one older than MAX_AGE_MS is too.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import {
  type Departure,
  DisconnectRetries,
  MAX_AGE_MS,
  MAX_HELD,
} from "../../../src/bridge/disconnect_retries.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setUp() {
  const clock = new FakeClock(1_800_000_000_000);
  const state = { down: true, ended: [] as number[], givenUp: [] as string[] };
  const retries = new DisconnectRetries(
    ({ cid }: Departure) => {
      if (state.down) return Promise.reject(new Error("store down"));
      state.ended.push(cid);
      return Promise.resolve();
    },
    clock,
    ({ cid }, why) => state.givenUp.push(`${cid} ${why}`),
  );
  return { clock, state, retries };
}

Deno.test("DisconnectRetries: tried again at growing intervals while the store is down, oldest first once it is back", async () => {
  const { clock, state, retries } = setUp();
  retries.add({ cid: 1, at: clock.now() });
  retries.add({ cid: 2, at: clock.now() });
  for (const step of [1_000, 2_000, 4_000, 8_000]) {
    clock.advance(step);
    await settle();
  }
  assertEquals(clock.delays, [1_000, 2_000, 4_000, 8_000, 16_000]);
  assertEquals(retries.size, 2);
  state.down = false;
  clock.advance(16_000);
  await settle();
  assertEquals(state.ended, [1, 2]);
  assertEquals(retries.size, 0);
  // The next failure starts from a second again.
  state.down = true;
  retries.add({ cid: 3, at: clock.now() });
  assertEquals(clock.delays.at(-1), 1_000);
  retries.close();
});

Deno.test("DisconnectRetries: bounded in number and in age", async () => {
  const { clock, state, retries } = setUp();
  for (let cid = 0; cid <= MAX_HELD; cid++) retries.add({ cid, at: clock.now() });
  assertEquals([retries.size, state.givenUp], [MAX_HELD, ["0 too many"]]);
  retries.close();
  const aged = setUp();
  aged.retries.add({ cid: 7, at: aged.clock.now() });
  for (let at = 0; at <= MAX_AGE_MS + 120_000; at += 30_000) {
    aged.clock.advance(30_000);
    await settle();
  }
  assertEquals([aged.retries.size, aged.state.givenUp], [0, ["7 too old"]]);
  aged.retries.close();
});
