/**
 * DisconnectRetries keeps its departures oldest first, also when one comes in while a pass runs
 * (MAX_HELD gives up the oldest), and gives one up only once it is older than MAX_AGE_MS.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { DisconnectRetries, MAX_AGE_MS } from "../../../src/bridge/disconnect_retries.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("DisconnectRetries: one that failed again stays ahead of one that came during the pass", async () => {
  const clock = new FakeClock(1_800_000_000_000);
  const state = { down: true, ended: [] as number[] };
  const retries = new DisconnectRetries(
    ({ cid }) => {
      // A DISCONNECT comes in while the store is asked to end the first one.
      if (cid === 1 && state.down) retries.add({ cid: 2, at: clock.now() });
      if (state.down) return Promise.reject(new Error("store down"));
      state.ended.push(cid);
      return Promise.resolve();
    },
    clock,
    () => {},
  );
  retries.add({ cid: 1, at: clock.now() });
  clock.advance(1_000);
  await settle();
  assertEquals(retries.size, 2);
  state.down = false;
  clock.advance(2_000);
  await settle();
  assertEquals(state.ended, [1, 2], "oldest first");
  retries.close();
});

Deno.test("DisconnectRetries: a departure exactly MAX_AGE_MS old is still tried, not given up", async () => {
  const clock = new FakeClock(1_800_000_000_000);
  const ended: number[] = [];
  const givenUp: string[] = [];
  const retries = new DisconnectRetries(
    ({ cid }) => {
      ended.push(cid);
      return Promise.resolve();
    },
    clock,
    ({ cid }, why) => givenUp.push(`${cid} ${why}`),
  );
  // The first pass comes a second after the add: the departure is then exactly MAX_AGE_MS old.
  retries.add({ cid: 7, at: clock.now() + 1_000 - MAX_AGE_MS });
  clock.advance(1_000);
  await settle();
  assertEquals([ended, givenUp], [[7], []]);
  retries.close();
});
