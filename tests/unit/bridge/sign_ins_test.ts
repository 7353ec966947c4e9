import { assertEquals } from "../../support/assert.ts";
import { type SignIn, SignIns } from "../../../src/bridge/sign_ins.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const T0 = 1_800_000_000_000;
const TIMEOUT_MS = 60_000;

function signInsOn(clock: FakeClock) {
  const overdue: string[] = [];
  const signIns = new SignIns((signIn) => overdue.push(signIn.id), clock);
  let n = 0;
  const begin = (cid: number): SignIn => {
    const signIn: SignIn = {
      id: `login-${++n}`,
      cid,
      kid: 1,
      createdAt: clock.now(),
      expiresAt: clock.now() + TIMEOUT_MS,
      commonName: `user${cid}`,
      clientIp: "192.0.2.7",
      run: signIns.run,
    };
    signIns.endOn(cid);
    signIns.track(signIn);
    return signIn;
  };
  return { signIns, overdue, begin };
}

const ref = (signIn: SignIn) => ({ loginId: signIn.id, openvpnRun: signIn.run });

Deno.test("SignIns: a sign-in still the latest on its cid at its deadline is overdue, once", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue, begin } = signInsOn(clock);
  signIns.runIs("run-1");
  const first = begin(3);
  clock.advance(TIMEOUT_MS - 1);
  assertEquals(overdue, []);
  clock.advance(1);
  assertEquals(overdue, [first.id]);
  assertEquals(signIns.endOn(3), undefined, "no longer tracked");
  clock.advance(TIMEOUT_MS);
  assertEquals(overdue, [first.id]);
});

Deno.test("SignIns: a sign-in already past its deadline when tracked (adopted late) is overdue at once", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue } = signInsOn(clock);
  signIns.runIs("run-1");
  const late: SignIn = {
    id: "adopted",
    cid: 5,
    kid: 1,
    createdAt: clock.now() - TIMEOUT_MS,
    expiresAt: clock.now(),
    commonName: "user5",
    clientIp: "192.0.2.7",
    run: signIns.run,
  };
  signIns.track(late);
  assertEquals(overdue, ["adopted"]);
  assertEquals(signIns.endOn(5), undefined, "no longer tracked");
});

// Runs, a newer sign-in on the same cid and adopted sign-ins are shown through ClientEvents in
// openvpn_run_test.ts and client_events_test.ts; these are what only SignIns itself shows.

Deno.test("SignIns: a sign-in whose client left is never overdue and no longer tracked", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue, begin } = signInsOn(clock);
  signIns.runIs("run-1");
  const left = begin(4);
  signIns.clientLeft(4);
  clock.advance(2 * TIMEOUT_MS);
  assertEquals(overdue, []);
  assertEquals(signIns.endOn(4), undefined, "no longer tracked");
  assertEquals(signIns.isCurrent(4, ref(left)), true, "same run, nobody newer on the cid");
});

Deno.test("SignIns: close stops every deadline", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue, begin } = signInsOn(clock);
  signIns.runIs("run-1");
  begin(1);
  signIns.close();
  clock.advance(2 * TIMEOUT_MS);
  assertEquals([overdue, clock.pendingTimers], [[], 0]);
});

Deno.test("SignIns.waits(): a sign-in waits for its answer until its client leaves, its deadline passes, another begins on its cid or OpenVPN's run changes", () => {
  const clock = new FakeClock(T0);
  const { signIns, begin } = signInsOn(clock);
  signIns.runIs("run-1");
  begin(3);
  assertEquals([signIns.waits(3, 1), signIns.waits(3, 2), signIns.waits(4, 1)], [
    true,
    false,
    false,
  ]);
  signIns.clientLeft(3);
  assertEquals(signIns.waits(3, 1), false, "its client left");
  begin(4);
  clock.advance(TIMEOUT_MS);
  assertEquals(signIns.waits(4, 1), false, "overdue");
  begin(5);
  signIns.endOn(5);
  assertEquals(signIns.waits(5, 1), false, "another begins on its cid");
  begin(6);
  signIns.runIs("run-2");
  assertEquals(signIns.waits(6, 1), false, "OpenVPN restarted");
});
