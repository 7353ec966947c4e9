/**
 * RevocationRetries: a revocation the store could not take is tried again on the store retry
 * schedule (1 s, 2 s, ... 60 s, as DisconnectRetries), one pass ending at the first failure
 * that says the store is still down; kept once per key; bounded in number and in age.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { RevocationRetries } from "../../../src/bridge/revocation_retries.ts";
import { retryDelayMs } from "../../../src/bridge/retry_delay.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const KEEP_FOR_MS = 12 * 3_600_000;

function setUp(keepForMs = KEEP_FOR_MS) {
  const clock = new FakeClock(1_800_000_000_000);
  const state = {
    down: true,
    /** Fails with something other than the store being down. */
    broken: new Set<string>(),
    tried: [] as string[],
    done: [] as string[],
    givenUp: [] as string[],
  };
  const retries = new RevocationRetries<string>(
    ({ key }) => {
      state.tried.push(key);
      if (state.broken.has(key)) return Promise.reject(new Error("a bug"));
      if (state.down) return Promise.reject(new StoreUnavailableError("store down"));
      state.done.push(key);
      return Promise.resolve();
    },
    clock,
    keepForMs,
    ({ key }, why) => state.givenUp.push(`${key} ${why}`),
  );
  const add = (key: string) => retries.add({ key, at: clock.now(), what: key });
  return { clock, state, retries, add };
}

Deno.test("RevocationRetries: tried again on the store retry schedule while the store is down, oldest first once it is back", async () => {
  const { clock, state, retries, add } = setUp();
  add("a");
  add("b");
  for (const step of [1_000, 2_000, 4_000, 8_000]) {
    clock.advance(step);
    await settle();
  }
  assertEquals(clock.delays, [1, 2, 3, 4, 5].map(retryDelayMs));
  // A store still down ends the pass: "b" is not asked to wait for it too.
  assertEquals(state.tried, ["a", "a", "a", "a"]);
  state.down = false;
  clock.advance(16_000);
  await settle();
  assertEquals([state.done, retries.size], [["a", "b"], 0]);
  // The next failure starts from a second again.
  state.down = true;
  add("c");
  assertEquals(clock.delays.at(-1), retryDelayMs(1));
  retries.close();
});

Deno.test("RevocationRetries: one per key; one carried out otherwise is not tried again", async () => {
  const { clock, state, retries, add } = setUp();
  assertEquals([add("a"), add("a"), add("b")], [true, false, true]);
  assertEquals(retries.size, 2);
  retries.delete("a");
  state.down = false;
  clock.advance(1_000);
  await settle();
  assertEquals(state.done, ["b"]);
  retries.close();
});

Deno.test("RevocationRetries: a failure other than the store's keeps that one and lets the rest through", async () => {
  const { clock, state, retries, add } = setUp();
  add("a");
  add("b");
  state.broken.add("a");
  state.down = false;
  clock.advance(1_000);
  await settle();
  assertEquals([state.done, retries.size], [["b"], 1]);
  assertEquals(clock.delays.at(-1), retryDelayMs(2));
  retries.close();
});

Deno.test("RevocationRetries: bounded in number and in age", async () => {
  const { state, retries, add } = setUp();
  // README: "At most 10,000 are kept".
  for (let i = 0; i < 10_000; i++) add(`r${i}`);
  assertEquals([retries.size, state.givenUp], [10_000, []]);
  add("r10000");
  assertEquals([retries.size, state.givenUp], [10_000, ["r0 too many"]]);
  retries.close();
  const aged = setUp(3_600_000);
  aged.add("old");
  for (let at = 0; at <= 3_600_000 + 120_000; at += 30_000) {
    aged.clock.advance(30_000);
    await settle();
  }
  assertEquals([aged.retries.size, aged.state.givenUp], [0, ["old too old"]]);
  assertEquals(aged.clock.pendingTimers, 0);
  aged.retries.close();
});

Deno.test("RevocationRetries: close() hands back what was kept and leaves no timer; nothing is kept after it", () => {
  const { clock, retries, add } = setUp();
  add("a");
  add("b");
  assertEquals(retries.close().map(({ key }) => key), ["a", "b"]);
  assertEquals([clock.pendingTimers, retries.size, add("c"), retries.size], [0, 0, false, 0]);
});
