/**
 * Sign-ins and OpenVPN's runs (management/openvpn_run.ts): a sign-in begun before OpenVPN
 * restarted ends when the link tells the new run, and the guard in front of the link
 * (sign_in_guard.ts) refuses the answer of one that is no longer its client's.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import type { SignInRef } from "../../../src/bridge/commander.ts";
import {
  ClientRunEndedError,
  SignInEndedError,
  signInGuard,
} from "../../../src/bridge/sign_in_guard.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  settle,
  testClientEvents,
  testEnv,
  testPendingLogin,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

const T0 = 1_800_000_000_000;
const RUN_1 = "4242@1795878880:CONNECTED";
const RUN_2 = "5151@1795879999:CONNECTED";
const ALICE = "AAAAAAAAAAAAAAAAAAAAAA";
const BOB = "BBBBBBBBBBBBBBBBBBBBBB";

function setup() {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const ids = [ALICE, BOB];
  const t = testClientEvents({
    store,
    clock,
    authPendingTimeoutMs: 60_000,
    newLoginId: () => ids.shift()!,
  });
  return { ...t, store, clock };
}

const alice = (openvpnRun: string | undefined): SignInRef => ({ loginId: ALICE, openvpnRun });

Deno.test("a sign-in records the run of OpenVPN it began in", async () => {
  const t = setup();
  await t.events.openvpnRunIs(RUN_1);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  assertEquals((await t.store.getPending(ALICE))?.openvpnRun, RUN_1);
  assert(t.events.isCurrentSignIn(0, alice(RUN_1)));
  t.events.close();
});

Deno.test("OpenVPN restarted while nobody heard its new client: the sign-in begun before ends, and its deadline denies nobody", async () => {
  const t = setup();
  await t.events.openvpnRunIs(RUN_1);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  // The link comes up again on a new OpenVPN process; the client it now has as cid 0 key id 1
  // connected while no bridge listened, so no CONNECT ends alice's sign-in.
  assertEquals(await t.events.openvpnRunIs(RUN_2), 1);
  assertEquals(await t.store.getPending(ALICE), undefined);
  assertEquals(t.events.isCurrentSignIn(0, alice(RUN_1)), false);
  t.clock.advance(60_000);
  await settle();
  assertEquals(t.commander.commands.map((c) => c.kind), ["pending"]);
  t.events.close();
});

Deno.test("OpenVPN restarted: the line of the sign-ins it ended counts only those still waiting for their answer", async () => {
  const t = setup();
  await t.events.openvpnRunIs(RUN_1);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  await t.events.onConnect(1, 1, testEnv({ common_name: "bob-laptop" }));
  // Alice's client-auth was written: she is in, her sign-in kept to its deadline.
  t.events.signInAnswered(0, alice(RUN_1));
  const lines = await logsOf(async () => assertEquals(await t.events.openvpnRunIs(RUN_2), 2));
  assertEquals(
    lines.filter(({ text }) => text.startsWith("Ended ")).map(({ properties }) =>
      properties["count"]
    ),
    [1],
  );
  t.events.close();
});

Deno.test("the same run told again (a link-up after a bridge reconnect) ends nothing", async () => {
  const t = setup();
  await t.events.openvpnRunIs(RUN_1);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  assertEquals(await t.events.openvpnRunIs(RUN_1), 0);
  assertEquals((await t.store.getPending(ALICE))?.cid, 0);
  assert(t.events.isCurrentSignIn(0, alice(RUN_1)));
  t.events.close();
});

Deno.test("an unknown run (OpenVPN did not tell) matches no earlier one", async () => {
  const t = setup();
  await t.events.openvpnRunIs(undefined);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  const run = (await t.store.getPending(ALICE))?.openvpnRun;
  assert(run?.startsWith("unknown:"), run);
  assert(t.events.isCurrentSignIn(0, alice(run)));
  assertEquals(await t.events.openvpnRunIs(undefined), 1);
  assertEquals(t.events.isCurrentSignIn(0, alice(run)), false);
  t.events.close();
});

Deno.test("taken over from the store: sign-ins of the current run stay, earlier ones and unrecorded ones end", async () => {
  const t = setup();
  await t.store.putPending(testPendingLogin({ id: ALICE, cid: 0, openvpnRun: RUN_1 }));
  await t.store.putPending(testPendingLogin({ id: BOB, cid: 1, openvpnRun: RUN_2 }));
  const legacy = "CCCCCCCCCCCCCCCCCCCCCC";
  await t.store.putPending(testPendingLogin({ id: legacy, cid: 2 }));
  assertEquals(await t.events.adoptPendingLogins(), 3);
  assertEquals(await t.events.openvpnRunIs(RUN_2), 2);
  assertEquals(await t.store.getPending(ALICE), undefined);
  assertEquals(await t.store.getPending(legacy), undefined);
  assertEquals((await t.store.getPending(BOB))?.cid, 1);
  t.events.close();
});

Deno.test("a finished sign-in is not current once another began on its cid, or without a run", async () => {
  const t = setup();
  await t.events.openvpnRunIs(RUN_1);
  await t.events.onConnect(0, 1, testEnv({ common_name: "alice-laptop" }));
  // Alice's callback took her login; then a new sign-in began on cid 0.
  await t.store.takePending(ALICE);
  await t.events.onConnect(0, 1, testEnv({ common_name: "bob-laptop" }));
  assertEquals(t.events.isCurrentSignIn(0, alice(RUN_1)), false);
  assert(t.events.isCurrentSignIn(0, { loginId: BOB, openvpnRun: RUN_1 }));
  // Taken over mid-callback (this link never saw it): its run alone decides.
  assert(t.events.isCurrentSignIn(7, { loginId: "DDDDDDDDDDDDDDDDDDDDDD", openvpnRun: RUN_1 }));
  assertEquals(t.events.isCurrentSignIn(7, alice(undefined)), false);
  t.events.close();
});

Deno.test("before the link first came up a sign-in cannot be judged: the guard fails as on a link still connecting", async () => {
  const t = setup();
  assertEquals(t.events.isCurrentSignIn(0, alice(RUN_1)), undefined);
  const inner = new RecordingCommander();
  const guarded = signInGuard(
    inner,
    (cid, signIn) => t.events.isCurrentSignIn(cid, signIn),
    () => t.events.openvpnRun,
  );
  // A cluster's work runner leaves such an item for the link (not-connected), not refused.
  const error = await assertRejects(
    () => guarded.auth(0, 1, [], alice(RUN_1)),
    ManagementConnectionError,
  );
  assertEquals(error.code, "not-connected");
  await t.events.openvpnRunIs(RUN_1);
  await guarded.auth(0, 1, [], alice(RUN_1));
  assertEquals(inner.commands.map((c) => c.kind), ["auth"]);
  t.events.close();
});

Deno.test("the guard refuses client-auth, client-deny and HALT of a sign-in that is not current, and writes nothing", async () => {
  const inner = new RecordingCommander();
  const current = new Set([ALICE]);
  const guarded = signInGuard(inner, (_cid, signIn) => current.has(signIn.loginId), () => "run-1");
  await guarded.auth(0, 1, ["push x"], alice(RUN_1));
  await guarded.deny(0, 1, "r", "c", alice(RUN_1));
  await guarded.halt(0, 1, "r", "c", alice(RUN_1));
  current.clear();
  await assertRejects(() => guarded.auth(0, 1, [], alice(RUN_1)), SignInEndedError);
  await assertRejects(() => guarded.deny(0, 1, "r", "c", alice(RUN_1)), SignInEndedError);
  await assertRejects(() => guarded.halt(0, 1, "r", "c", alice(RUN_1)), SignInEndedError);
  // Answers to events being handled carry no sign-in: they pass.
  await guarded.auth(3, 2, []);
  await guarded.deny(3, 2, "r", "c");
  await guarded.halt(3, 2, "r", "c");
  await guarded.authNt(3, 2);
  await guarded.pendingAuth(3, 1, "https://x", 60);
  await guarded.kill(3, "bye");
  assertEquals(inner.commands.map((c) => `${c.kind} ${c.cid}`), [
    "auth 0",
    "deny 0",
    "halt 0",
    "auth 3",
    "deny 3",
    "halt 3",
    "auth-nt 3",
    "pending 3",
    "kill 3",
  ]);
});

Deno.test("the guard sends a kill that names its client's run only in that run; before the link was up it waits", async () => {
  const inner = new RecordingCommander();
  let run: string | undefined;
  const guarded = signInGuard(inner, () => true, () => run);
  // A cluster's work item waits for the link (not-connected) instead of being refused.
  const waiting = await assertRejects(
    () => guarded.kill(4, "RESTART", RUN_1),
    ManagementConnectionError,
  );
  assertEquals(waiting.code, "not-connected");
  run = RUN_1;
  await guarded.kill(4, "RESTART", RUN_1);
  // OpenVPN restarted: cid 5 of the earlier run is gone, and may be a stranger's now.
  run = "pid=2:started=2";
  const refused = await assertRejects(
    () => guarded.kill(5, "RESTART", RUN_1),
    ClientRunEndedError,
  );
  assert(refused.message.includes("OpenVPN restarted since its client was seen"), refused.message);
  // A kill whose run is not known passes as before.
  await guarded.kill(6, "RESTART");
  assertEquals(inner.commands.map((c) => `${c.kind} ${c.cid}`), ["kill 4", "kill 6"]);
});
