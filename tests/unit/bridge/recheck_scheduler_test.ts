/**
 * The periodic re-check's scheduler on a fake clock: each bound session once per interval at
 * a stable phase, spread out (no burst), one listing per round, failures contained; and with
 * the real admission step, refused clients killed and their sessions ended through SessionEnd.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import {
  type BoundSession,
  listBound,
  longestRecheckGapMs,
  RecheckScheduler,
  type RecheckSchedulerDeps,
  sliceCount,
  sliceOf,
} from "../../../src/bridge/recheck_scheduler.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { session } from "../sessions/fixtures.ts";
import { EVENTS_T0, testAdmission, testSession } from "../../support/client_events_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { MAX_TIMER_DELAY_MS } from "../../../src/clock.ts";

const INTERVAL = 60_000;
const TIMER_LIMIT_MS = MAX_TIMER_DELAY_MS;

/** Moves the fake time in small steps, letting the scheduler's promises settle between. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 250) {
    clock.advance(250);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function setup(options: {
  bound: BoundSession[];
  verdict?: (id: string) => boolean | "gone" | "throw";
  /** Fails the listing of the given calls (1-based). */
  failListing?: (call: number) => boolean;
  /** The servers re-checked here (vpn1 unless given): a cluster's leases. */
  servers?: () => readonly string[];
  /** The cid a checked session is bound to as its re-check ends (7 unless given). */
  cid?: (id: string) => number | undefined;
}) {
  const clock = new FakeClock();
  const checks: Array<{ id: string; at: number }> = [];
  const refused: string[] = [];
  let listCalls = 0;
  const scheduler = new RecheckScheduler({
    intervalMs: INTERVAL,
    clock,
    servers: options.servers ?? (() => ["vpn1"]),
    listBound: (servers) => {
      listCalls++;
      return options.failListing?.(listCalls)
        ? Promise.reject(new Error("store down"))
        : Promise.resolve(options.bound.filter((b) => servers.includes(b.server)));
    },
    recheck: ({ sessionId: id }) => {
      checks.push({ id, at: clock.now() });
      const verdict = options.verdict?.(id) ?? true;
      if (verdict === "throw") return Promise.reject(new Error("IdP on fire"));
      if (verdict === "gone") return Promise.resolve(undefined);
      if (!verdict) refused.push(id);
      const cid = options.cid === undefined ? 7 : options.cid(id);
      return Promise.resolve({ admit: verdict, session: session({ sessionId: id, cid }) });
    },
    log: getLogger("test"),
  });
  return {
    clock,
    scheduler,
    checks,
    refused,
    listCalls: () => listCalls,
    run: (ms: number) => advance(clock, ms),
  };
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

Deno.test("a refused re-check's line names its cid, or says in words that no client was connected", async () => {
  const bound = [{ server: "vpn1", sessionId: "s-1" }, { server: "vpn1", sessionId: "s-2" }];
  const t = setup({ bound, verdict: () => false, cid: (id) => id === "s-1" ? 7 : undefined });
  const lines = await logsOf(async () => {
    t.scheduler.start();
    await t.run(INTERVAL);
    await t.scheduler.stop();
  });
  assertEquals(lines.map((line) => line.text).sort(), [
    "Re-check refused alice (cid 7)",
    "Re-check refused alice (no client connected)",
  ]);
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

Deno.test("the bound sessions are listed once per round, not once per slice", async () => {
  const t = setup({ bound: many });
  assertEquals(sliceCount(INTERVAL), 60);
  t.scheduler.start();
  await t.run(3 * INTERVAL);
  await t.scheduler.stop();
  assertEquals(t.listCalls(), 3);
  for (const { sessionId } of many) {
    assertEquals(t.checks.filter((c) => c.id === sessionId).length, 3, sessionId);
  }
});

Deno.test("a session bound just after its round was listed is first re-checked in the next round: more than one interval later, within the longest gap", async () => {
  const bound: BoundSession[] = [];
  const t = setup({ bound });
  // In the last slice, so that its slot in the next round is as late as it gets.
  const late = Array.from({ length: 500 }, (_, i) => `late-${i}`)
    .find((id) => sliceOf(id, sliceCount(INTERVAL)) === sliceCount(INTERVAL) - 1)!;
  t.scheduler.start();
  await t.run(INTERVAL / 60 + 250);
  assertEquals(t.listCalls(), 1);
  const boundAt = t.clock.now();
  bound.push({ server: "vpn1", sessionId: late });
  await t.run(2 * INTERVAL);
  await t.scheduler.stop();
  const first = t.checks.find((c) => c.id === late)!.at - boundAt;
  assert(first > INTERVAL, `first re-check ${first} ms after binding`);
  assert(first < longestRecheckGapMs(INTERVAL), `first re-check ${first} ms after binding`);
});

Deno.test("a lease lost or taken mid-round: the server lost is no longer re-checked here, the one taken is at once", async () => {
  const two = [
    ...many.map(({ sessionId }) => ({ server: "vpn1", sessionId })),
    ...many.map(({ sessionId }) => ({ server: "vpn2", sessionId: `${sessionId}-2` })),
  ];
  let held = ["vpn1"];
  const t = setup({ bound: two, servers: () => held });
  t.scheduler.start();
  await t.run(INTERVAL / 2);
  const before = t.checks.length;
  assert(before > 0 && t.checks.every((c) => !c.id.endsWith("-2")), "vpn1's only");
  held = ["vpn2"];
  await t.run(INTERVAL / 2);
  await t.scheduler.stop();
  const after = t.checks.slice(before).map((c) => c.id);
  assert(after.length > 0, "vpn2's sessions re-checked within the round it was taken in");
  assert(after.every((id) => id.endsWith("-2")), `a vpn1 session re-checked after: ${after}`);
  assertEquals(t.listCalls(), 2);
});

Deno.test("a failed listing is tried again at the next slice, not a round later", async () => {
  const t = setup({ bound: many, failListing: (call) => call === 1 });
  t.scheduler.start();
  await t.run(INTERVAL);
  await t.scheduler.stop();
  assertEquals(t.listCalls(), 2);
  // Only the first slice's sessions wait for the next round.
  const expected = many.filter(({ sessionId }) => sliceOf(sessionId, 60) !== 0);
  assertEquals(t.checks.map((c) => c.id).sort(), expected.map((m) => m.sessionId).sort());
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
  assertEquals(t.refused.length, 9);
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

/** The scheduler over the real admission step and SessionEnd, as the daemon wires them. */
async function withAdmission(commander: RecordingCommander) {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: () => clock.now() });
  const disabled = { sub: "u-2", preferred_username: "bob" };
  const { admission, revoked } = testAdmission({
    store,
    now: () => clock.now(),
    commanders: (server) => (server === "default" ? commander : undefined),
    // bob's grant now brings no groups: the policy refuses him.
    refresh: (token) =>
      Promise.resolve({
        claims: token === "rt-bob" ? disabled : testSession().claims,
        refreshToken: `${token}-2`,
        refreshExpiresAt: undefined,
        idToken: undefined,
      }),
  });
  await store.putSession(testSession({ sessionId: "alice", cid: 4 }));
  const bob = { username: "bob", subject: "u-2", commonName: "bob", refreshToken: "rt-bob" };
  await store.putSession(testSession({ sessionId: "bob", cid: 5, ...bob }));
  const deps: RecheckSchedulerDeps = {
    intervalMs: INTERVAL,
    clock,
    servers: () => ["default"],
    listBound: (servers) => listBound(store, servers),
    recheck: ({ sessionId, server }) => admission.recheckSession(sessionId, server),
    log: getLogger("recheck"),
  };
  const scheduler = new RecheckScheduler(deps);
  const logs = await logsOf(async () => {
    scheduler.start();
    await advance(clock, INTERVAL);
    await scheduler.stop();
  });
  return { store, revoked, logs };
}

Deno.test("a refused user's client is killed and the session ends through SessionEnd; an admitted one is kept", async () => {
  const commander = new RecordingCommander();
  const t = await withAdmission(commander);
  assertEquals(commander.commands, [{ kind: "kill", cid: 5, message: "RESTART" }]);
  assertEquals(await t.store.getSession("bob"), undefined);
  assertEquals((await t.store.getSession("alice"))?.refreshToken, "rt-1-2");
  // The rotated token is the one the IdP must forget.
  assertEquals(t.revoked, ["rt-bob-2"]);
  const audit = t.logs.filter((l) => l.category === "audit");
  assertEquals(audit.map((l) => [l.properties.event, l.properties.username, l.properties.reason]), [
    ["session_ended", "bob", "recheck_failed"],
    ["recheck_denied", "bob", "group"],
  ]);
  assert(t.logs.some((l) => l.text.includes("ended, its client disconnected;")));
});

Deno.test("a failed client-kill in a re-check is logged as a failed kill, and the session still ends", async () => {
  const commander = new RecordingCommander();
  commander.failWith = "ERROR: client-kill command failed";
  const t = await withAdmission(commander);
  assertEquals(commander.commands, [{ kind: "kill", cid: 5, message: "RESTART" }]);
  const warnings = t.logs.filter((l) => l.level === "warning").map((l) => l.text);
  assertEquals(warnings, [
    "client-kill of cid 5 failed: ManagementCommandError: OpenVPN refused kill: ERROR: client-kill command failed",
  ]);
  assertEquals(await t.store.getSession("bob"), undefined);
  assertEquals(t.revoked, ["rt-bob-2"]);
  const audit = t.logs.filter((l) => l.category === "audit").map((l) => l.properties.reason);
  // The user was refused though the kill failed: recorded as decided.
  assertEquals(audit, ["recheck_failed", "group"]);
  assert(t.logs.some((l) => l.text.includes("ended, its client had left already;")));
});

Deno.test("listBound() lists a session once per server though a chunked listing named it twice (it moved meanwhile)", async () => {
  const listings: Record<string, Array<{ sessionId: string; cid: number }>> = {
    vpn1: [{ sessionId: "a", cid: 1 }, { sessionId: "b", cid: 2 }, { sessionId: "a", cid: 9 }],
    vpn2: [{ sessionId: "a", cid: 3 }],
  };
  const store = { listBindings: (server: string) => Promise.resolve(listings[server] ?? []) };
  assertEquals(await listBound(store, ["vpn1", "vpn2"]), [
    { server: "vpn1", sessionId: "a" },
    { server: "vpn1", sessionId: "b" },
    { server: "vpn2", sessionId: "a" },
  ]);
});

for (
  const [step, ms] of [
    ["back an hour", -3_600_000],
    ["forward an hour", 3_600_000],
    ["back a month (past the timer limit)", -30 * 24 * 3_600_000],
  ] as const
) {
  Deno.test(`a wall clock stepped ${step} neither pauses nor bunches the re-checks`, async () => {
    const t = setup({ bound: many });
    t.scheduler.start();
    await t.run(2 * INTERVAL);
    t.clock.stepWall(ms);
    const before = t.checks.length;
    await t.run(3 * INTERVAL);
    await t.scheduler.stop();
    const after = t.checks.slice(before);
    for (const { sessionId } of many) {
      const times = after.filter((c) => c.id === sessionId).length;
      assertEquals(times, 3, `${sessionId}: ${times} re-checks in the 3 intervals after the step`);
    }
    const instants = after.map((c) => c.at);
    assertEquals(new Set(instants).size, instants.length, "two re-checks at the same instant");
    const longest = Math.max(...t.clock.delays);
    assert(longest <= TIMER_LIMIT_MS, `a timer armed ${longest} ms ahead`);
  });
}

/** About ten sessions a slice: a slice waits between two of its re-checks most of the time. */
const crowd = Array.from({ length: 600 }, (_, i) => ({ server: "vpn1", sessionId: `c-${i}` }));

Deno.test("a lease lost in the middle of a slice: that slice's remaining sessions of the server are not re-checked here", async () => {
  let held = ["vpn1"];
  const t = setup({ bound: crowd, servers: () => held });
  t.scheduler.start();
  // Half a second into the 30th slice: some of its sessions checked, the rest still waiting.
  await t.run(INTERVAL / 2 + 500);
  const before = t.checks.length;
  held = [];
  await t.run(INTERVAL / 60);
  await t.scheduler.stop();
  // The instance that took the lease re-checks them now; two refreshes of one token at once
  // would race at an IdP that rotates refresh tokens.
  assertEquals(t.checks.slice(before).map((c) => c.id), []);
});

Deno.test("stop() while a slice waits between two re-checks starts none after it", async () => {
  const t = setup({ bound: crowd });
  t.scheduler.start();
  await t.run(INTERVAL / 2 + 500);
  const before = t.checks.length;
  assert(before > 0, "some re-checked before the stop");
  await t.scheduler.stop();
  assertEquals(t.checks.length, before);
});
