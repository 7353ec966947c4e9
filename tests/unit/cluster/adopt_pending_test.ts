import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { testClientEvents } from "../../support/client_events_fixture.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";
import { pendingLogin } from "../sessions/fixtures.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { switchableLink } from "../../support/recording_commander.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { unknownRun } from "../../../src/management/openvpn_run.ts";

Deno.test("a new link holder takes over the deadlines of its server's sign-ins in progress", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  // Started by the previous holder: two on this server (in any order), one on another.
  await store.putPending(
    pendingLogin({
      id: "late",
      server: "default",
      cid: 2,
      kid: 1,
      createdAt: t,
      expiresAt: t + 50_000,
    }),
  );
  await store.putPending(
    pendingLogin({
      id: "soon",
      server: "default",
      cid: 1,
      kid: 1,
      createdAt: t,
      expiresAt: t + 10_000,
    }),
  );
  await store.putPending(
    pendingLogin({
      id: "other",
      server: "tcp",
      cid: 1,
      kid: 1,
      createdAt: t,
      expiresAt: t + 10_000,
    }),
  );
  const { events, commander } = testClientEvents({ store, clock });
  assertEquals(await events.adoptPendingLogins(), 2);

  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands, [
    {
      kind: "halt",
      cid: 1,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    },
  ]);
  // A sign-in the browser finished meanwhile (taken by a callback) is not denied.
  await store.takePending("late");
  clock.advance(40_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.length, 1, "nothing for the login a callback took");
  events.close();
});

Deno.test("a new holder adopting two sign-ins on one cid (OpenVPN restarted in between) ends the earlier", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  for (const [id, expiresAt] of [["before-restart", t + 10_000], ["after-restart", t + 40_000]]) {
    await store.putPending(
      pendingLogin({
        id: id as string,
        server: "default",
        cid: 0,
        kid: 1,
        createdAt: t,
        expiresAt: expiresAt as number,
      }),
    );
  }
  const { events, commander } = testClientEvents({ store, clock });
  assertEquals(await events.adoptPendingLogins(), 2);
  // The earlier one can no longer be finished (its client-auth would reach the new client)...
  assertEquals(await store.getPending("before-restart"), undefined);
  assertEquals((await store.getPending("after-restart"))?.cid, 0);
  // ...and its deadline denies nobody; the new client's own deadline still holds.
  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.length, 0);
  clock.advance(30_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands.map((c) => c.kind), ["halt"]);
  events.close();
});

Deno.test("a store that cannot list the sign-ins in progress is a warning: adopting resolves 0 and tracks none", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  const first = pendingLogin({ server: "default", cid: 1, createdAt: t, expiresAt: t + 10_000 });
  await store.putPending(first);
  // The first page comes, the second does not.
  store.pendingPages = async function* () {
    yield [first];
    throw new Error("store down");
  };
  const { events, commander } = testClientEvents({ store, clock });
  const logs = captureLogs();
  try {
    assertEquals(await events.adoptPendingLogins(), 0);
  } finally {
    logs.stop();
  }
  assertEquals(
    logs.lines.filter((line) => line.level === "warning").map((line) => line.text),
    ["Could not read the sign-ins in progress on default: Error: store down"],
  );
  // Nothing was taken over: the first page's login is left to its own deadline elsewhere.
  clock.advance(10_000);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(commander.commands, []);
  assertEquals((await store.getPending(first.id))?.cid, 1);
  events.close();
});

/**
 * A new holder adopting two sign-ins of OpenVPN's run "run-1" before its link is up; their
 * deadlines pass 1 ms and 2 s later, while the link is still connecting. Then the link comes up
 * and tells `run`.
 */
async function timedOutWhileConnecting(run: string) {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = clock.now();
  for (const [cid, expiresAt] of [[1, t + 1], [2, t + 2_000]] as const) {
    await store.putPending(
      pendingLogin({
        id: `login-${cid}`,
        server: "default",
        cid,
        kid: 1,
        createdAt: t - 60_000,
        expiresAt,
        openvpnRun: "run-1",
      }),
    );
  }
  const { commander, commands, state: link } = switchableLink({ up: false });
  const counted: string[] = [];
  const { events } = testClientEvents({
    store,
    clock,
    eventsCommander: commander,
    metrics: countingMetrics(counted),
  });
  const logs = captureLogs();
  try {
    assertEquals(await events.adoptPendingLogins(), 2);
    clock.advance(2_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const before = {
      commands: [...commands],
      counted: [...counted],
      audit: logs.lines.filter((line) => line.category === "audit").length,
    };
    link.up = true;
    await events.openvpnRunIs(run);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Sent once: the link telling its run again sends nothing more.
    await events.openvpnRunIs(run);
    await new Promise((resolve) => setTimeout(resolve, 0));
    return {
      before,
      commands,
      counted,
      audit: logs.lines.filter((line) => line.category === "audit").map((line) => line.properties),
      warnings: logs.lines.filter((line) => line.level === "warning").map((line) => line.text),
    };
  } finally {
    logs.stop();
    events.close();
  }
}

Deno.test("a sign-in whose deadline passes before a new holder's link is up is denied with the reason once the link is up in its run, and counted then", async () => {
  const result = await timedOutWhileConnecting("run-1");
  assertEquals(
    result.commands,
    [1, 2].map((cid) => ({
      kind: "halt",
      cid,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    })),
  );
  // Nothing written, nothing claimed, while the link was connecting.
  assertEquals(result.before, { commands: [], counted: [], audit: 0 });
  assertEquals(result.counted, [
    "login timeout",
    "denial timeout",
    "login timeout",
    "denial timeout",
  ]);
  assertEquals(result.audit.map(({ event, cid, reason }) => ({ event, cid, reason })), [
    { event: "denied", cid: 1, reason: "timeout" },
    { event: "denied", cid: 2, reason: "timeout" },
  ]);
  assertEquals(result.warnings, []);
});

Deno.test("a sign-in whose deadline passed before a new holder's link was up is not denied when the link tells another run: its client went with it", async () => {
  const result = await timedOutWhileConnecting("run-2");
  assertEquals(result.commands, []);
  assertEquals(result.counted, []);
  assertEquals(result.audit, []);
});

/** Sign-ins of `run`, on cids 1..count, whose deadlines all pass 1 s from now. */
async function signInsEndingSoon(store: MemoryStore, clock: FakeClock, count: number, run: string) {
  const t = clock.now();
  for (let cid = 1; cid <= count; cid++) {
    await store.putPending(
      pendingLogin({
        id: `login-${cid}`,
        server: "default",
        cid,
        kid: 1,
        createdAt: t - 60_000,
        expiresAt: t + 1_000,
        openvpnRun: run,
      }),
    );
  }
}

Deno.test("sign-ins timing out while the link is down never push out a revoked user's held kill", async () => {
  // One more than the held denies are kept: the oldest deny goes, never the kill.
  const LOGINS = 10_001;
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: LOGINS + 1, now: clock.now });
  await signInsEndingSoon(store, clock, LOGINS, "run-1");
  const { commander, commands, state: link } = switchableLink({ up: false });
  const { events } = testClientEvents({ store, clock, eventsCommander: commander });
  try {
    // Revoked while the link was down: killed once it is back in that run.
    events.killWhenLinked(100_000, "RESTART", "run-1");
    assertEquals(await events.adoptPendingLogins(), LOGINS);
    clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    link.up = true;
    await events.openvpnRunIs("run-1");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(commands.filter((command) => command.kind === "kill").map(({ cid }) => cid), [
      100_000,
    ]);
    assertEquals(commands.filter((command) => command.kind === "halt").length, LOGINS - 1);
  } finally {
    events.close();
  }
});

Deno.test("a sign-in of a run OpenVPN did not tell is not held for the link: no later link-up tells that run", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  await signInsEndingSoon(store, clock, 1, unknownRun());
  const { commander, commands, state: link } = switchableLink({ up: false });
  const { events } = testClientEvents({ store, clock, eventsCommander: commander });
  const logs = captureLogs();
  try {
    assertEquals(await events.adoptPendingLogins(), 1);
    clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    link.up = true;
    await events.openvpnRunIs(undefined);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(commands, []);
    const texts = logs.lines.map((line) => line.text);
    // Said as before: the deny failed; not "OpenVPN restarted meanwhile".
    assertEquals(
      texts.filter((text) => text.startsWith("Denying an expired sign-in failed")).length,
      1,
    );
    assertEquals(texts.filter((text) => text.startsWith("Did not deny")), []);
  } finally {
    logs.stop();
    events.close();
  }
});
