/**
 * The re-check scheduler's edges: stop() disarms the next slice (no store read after it), and
 * the log names the users a re-check refused, never one it admitted.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type BoundSession, RecheckScheduler } from "../../../src/bridge/recheck_scheduler.ts";
import { getLogger } from "../../../src/log.ts";
import { session } from "../sessions/fixtures.ts";
import { logsOf } from "../../support/log_capture.ts";

/** Ten one-second slices: a whole round in a few steps of the fake clock. */
const INTERVAL = 10_000;

function setup(bound: BoundSession[], admits: (id: string) => boolean) {
  const clock = new FakeClock();
  let listCalls = 0;
  const scheduler = new RecheckScheduler({
    intervalMs: INTERVAL,
    clock,
    servers: () => ["vpn1"],
    listBound: () => {
      listCalls++;
      return Promise.resolve(bound);
    },
    recheck: ({ sessionId }) =>
      Promise.resolve({
        admit: admits(sessionId),
        session: session({ sessionId, username: sessionId, cid: 7 }),
      }),
    log: getLogger("test"),
  });
  return { clock, scheduler, listCalls: () => listCalls };
}

/** Moves the fake time in small steps, letting the scheduler's promises settle between. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 250) {
    clock.advance(250);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("stop() before the first slice leaves no timer armed, and the store is not read after it", async () => {
  const t = setup([{ server: "vpn1", sessionId: "alice" }], () => true);
  t.scheduler.start();
  await t.scheduler.stop();
  assertEquals(t.clock.pendingTimers, 0);
  await advance(t.clock, INTERVAL);
  assertEquals(t.listCalls(), 0);
});

Deno.test("a re-check's refusal is logged with the user's name; an admitted user is not said to be refused", async () => {
  const bound = ["alice", "bob"].map((sessionId) => ({ server: "vpn1", sessionId }));
  const t = setup(bound, (id) => id === "alice");
  const logs = await logsOf(async () => {
    t.scheduler.start();
    await advance(t.clock, INTERVAL);
    await t.scheduler.stop();
  });
  const refusals = logs.filter((l) => l.text.startsWith("Re-check refused"));
  assertEquals(refusals.map((l) => [l.level, l.properties.username, l.properties.cid]), [
    ["info", "bob", 7],
  ]);
});
