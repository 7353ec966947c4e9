import { assertEquals } from "../../support/assert.ts";
import { type SignIn, SignIns } from "../../../src/bridge/sign_ins.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const T0 = 1_800_000_000_000;
const TIMEOUT_MS = 60_000;

function signInsOn(clock: FakeClock) {
  const overdue: string[] = [];
  const signIns = new SignIns((signIn) => overdue.push(signIn.id), clock);
  let n = 0;
  const begin = (cid: number, run = signIns.run): SignIn => {
    const signIn: SignIn = {
      id: `login-${++n}`,
      cid,
      kid: 1,
      expiresAt: clock.now() + TIMEOUT_MS,
      commonName: `user${cid}`,
      clientIp: "192.0.2.7",
      run,
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
  // No longer tracked: the cid has no sign-in, so an answer on its run alone still passes.
  assertEquals(signIns.endOn(3), undefined);
  clock.advance(TIMEOUT_MS);
  assertEquals(overdue, [first.id]);
});

Deno.test("SignIns: a sign-in ended by a newer one on its cid, or by its client leaving, is never overdue", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue, begin } = signInsOn(clock);
  signIns.runIs("run-1");
  const replaced = begin(3);
  clock.advance(1000);
  const newer = begin(3);
  assertEquals(signIns.isCurrent(3, ref(replaced)), false);
  assertEquals(signIns.isCurrent(3, ref(newer)), true);
  const left = begin(4);
  signIns.clientLeft(4);
  clock.advance(2 * TIMEOUT_MS);
  assertEquals(overdue, [newer.id]);
  assertEquals(signIns.isCurrent(4, ref(left)), true, "same run, nobody newer on the cid");
});

Deno.test("SignIns: another run of OpenVPN ends every sign-in begun in an earlier one", () => {
  const clock = new FakeClock(T0);
  const { signIns, overdue, begin } = signInsOn(clock);
  // Adopted from a bridge version that did not record runs.
  const adopted = begin(1, undefined);
  assertEquals(signIns.isCurrent(1, ref(adopted)), undefined, "no run told yet");
  assertEquals(signIns.runIs("run-1").map((s) => s.id), [adopted.id]);
  const a = begin(2);
  const b = begin(3);
  assertEquals(signIns.runIs("run-1"), [], "the same run again ends nothing");
  assertEquals(signIns.isCurrent(2, ref(a)), true);
  assertEquals(signIns.runIs("run-2").map((s) => s.id), [a.id, b.id]);
  assertEquals(signIns.isCurrent(2, ref(a)), false);
  assertEquals(signIns.run, "run-2");
  // A run OpenVPN did not tell is one of its own: the next untold one ends its sign-ins too.
  assertEquals(signIns.runIs(undefined).length, 0);
  const untold = begin(5);
  assertEquals(signIns.runIs(undefined).map((s) => s.id), [untold.id]);
  clock.advance(2 * TIMEOUT_MS);
  assertEquals(overdue, [], "ended sign-ins deny nobody");
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
