/**
 * The periodic re-check's scheduler on a fake clock: each bound session once per interval at
 * a stable phase, spread out (no burst), refused clients disconnected, failures contained.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import {
  type BoundSession,
  RecheckScheduler,
  sliceCount,
  sliceOf,
} from "../../../src/bridge/recheck_scheduler.ts";
import { getLogger } from "../../../src/log.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { session } from "../sessions/fixtures.ts";

const INTERVAL = 60_000;

function setup(options: {
  bound: BoundSession[];
  verdict?: (id: string) => boolean | "gone" | "throw";
}) {
  const clock = new FakeClock();
  const checks: Array<{ id: string; at: number }> = [];
  const disconnected: Session[] = [];
  const scheduler = new RecheckScheduler({
    intervalMs: INTERVAL,
    clock,
    listBound: () => Promise.resolve(options.bound),
    recheck: (id) => {
      checks.push({ id, at: clock.now() });
      const verdict = options.verdict?.(id) ?? true;
      if (verdict === "throw") return Promise.reject(new Error("IdP on fire"));
      if (verdict === "gone") return Promise.resolve(undefined);
      return Promise.resolve({ admit: verdict, session: session({ sessionId: id, cid: 7 }) });
    },
    disconnect: (s) => {
      disconnected.push(s);
      return Promise.resolve();
    },
    log: getLogger("test"),
  });
  /** Moves the fake time in small steps, letting the scheduler's promises settle between. */
  const run = async (ms: number) => {
    for (let passed = 0; passed < ms; passed += 250) {
      clock.advance(250);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  return { clock, scheduler, checks, disconnected, run };
}

const many = Array.from({ length: 40 }, (_, i) => ({ server: "vpn1", sessionId: `s-${i}` }));

Deno.test("sliceOf() is stable and spreads ids over every slice", () => {
  assertEquals(sliceOf("s-1", 60), sliceOf("s-1", 60));
  const used = new Set(Array.from({ length: 2000 }, (_, i) => sliceOf(`session-${i}`, 60)));
  assertEquals(used.size, 60);
  assertEquals(sliceCount(15 * 60_000), 60);
  assertEquals(sliceCount(20_000), 20);
  assertEquals(sliceCount(500), 1);
});

Deno.test("every bound session is re-checked once per interval, at the same phase each round", async () => {
  const t = setup({ bound: many });
  const start = t.clock.now();
  t.scheduler.start();
  await t.run(2 * INTERVAL);
  await t.scheduler.stop();
  for (const { sessionId } of many) {
    const times = t.checks.filter((c) => c.id === sessionId).map((c) => c.at);
    assertEquals(times.length, 2, sessionId);
    assertEquals(times[1]! - times[0]!, INTERVAL, sessionId);
    assert(times[0]! > start && times[0]! <= start + INTERVAL, `${sessionId} in round 1`);
  }
});

Deno.test("re-checks are spread: never more than one at an instant, none in a burst", async () => {
  const t = setup({ bound: many });
  t.scheduler.start();
  await t.run(INTERVAL);
  await t.scheduler.stop();
  const times = t.checks.map((c) => c.at);
  assertEquals(new Set(times).size, times.length, "two re-checks at the same instant");
  // 40 sessions over 60 s: no 5-second window holds more than a handful.
  for (const at of times) {
    assert(times.filter((other) => other >= at && other < at + 5000).length <= 10);
  }
});

Deno.test("a refused session's client is disconnected; admitted and gone ones are left alone", async () => {
  const t = setup({
    bound: [
      { server: "vpn1", sessionId: "ok" },
      { server: "vpn1", sessionId: "disabled" },
      { server: "vpn1", sessionId: "gone" },
    ],
    verdict: (id) => (id === "disabled" ? false : id === "gone" ? "gone" : true),
  });
  t.scheduler.start();
  await t.run(INTERVAL);
  await t.scheduler.stop();
  assertEquals(t.disconnected.map((s) => s.sessionId), ["disabled"]);
  assertEquals(t.checks.length, 3);
});

Deno.test("a re-check that throws is contained: the others are still checked", async () => {
  const t = setup({
    bound: many.slice(0, 10),
    verdict: (id) => (id === "s-3" ? "throw" : false),
  });
  t.scheduler.start();
  await t.run(INTERVAL);
  await t.scheduler.stop();
  assertEquals(t.checks.length, 10);
  assertEquals(t.disconnected.length, 9);
});

Deno.test("stop() ends the walk: nothing is re-checked afterwards", async () => {
  const t = setup({ bound: many });
  t.scheduler.start();
  await t.run(INTERVAL / 2);
  await t.scheduler.stop();
  const seen = t.checks.length;
  assert(seen > 0 && seen < many.length, `${seen}`);
  await t.run(INTERVAL);
  assertEquals(t.checks.length, seen);
  assertEquals(t.clock.pendingTimers, 0);
});
