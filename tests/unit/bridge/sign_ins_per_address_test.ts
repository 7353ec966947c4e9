/**
 * SignIns counts the sign-ins waiting from each client address (`openvpn.max_pending_per_address`):
 * an IPv6 /64 as one address, and a sign-in no longer counted from the moment it ends or its
 * answer is written, whichever way that happens.
 */
import { assertEquals } from "../../support/assert.ts";
import { type SignIn, SignIns } from "../../../src/bridge/sign_ins.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const T0 = 1_800_000_000_000;
const TIMEOUT_MS = 60_000;
const ATTACKER = "203.0.113.66";

/** SignIns with a cap of `max`; `begin` tracks a sign-in on `cid` from `clientIp`. */
function capped(max: number) {
  const clock = new FakeClock(T0);
  const signIns = new SignIns(() => {}, clock, () => max);
  signIns.runIs("run-1");
  const begin = (cid: number, clientIp = ATTACKER): SignIn => {
    const signIn: SignIn = {
      id: `login-${cid}`,
      cid,
      kid: 1,
      createdAt: clock.now(),
      expiresAt: clock.now() + TIMEOUT_MS,
      commonName: "",
      clientIp,
      run: signIns.run,
    };
    signIns.endOn(cid);
    signIns.track(signIn);
    return signIn;
  };
  const fill = () => [1, 2, 3].map((cid) => begin(cid));
  return { clock, signIns, begin, fill };
}

Deno.test("SignIns.hasRoomFrom: a full address has no room, another address has", () => {
  const { signIns, fill } = capped(3);
  assertEquals(signIns.hasRoomFrom(ATTACKER), true);
  fill();
  assertEquals(signIns.hasRoomFrom(ATTACKER), false);
  assertEquals(signIns.hasRoomFrom("198.51.100.7"), true);
  // Another spelling of the same address is the same address.
  assertEquals(signIns.hasRoomFrom(`::ffff:${ATTACKER}`), false);
});

Deno.test("SignIns.hasRoomFrom: two addresses in one IPv6 /64 count as one, another /64 apart", () => {
  const { signIns, begin } = capped(2);
  begin(1, "2001:db8:1:2::a");
  begin(2, "2001:db8:1:2:ffff::b");
  assertEquals(signIns.hasRoomFrom("2001:db8:1:2::c"), false);
  assertEquals(signIns.hasRoomFrom("2001:db8:1:3::a"), true);
});

Deno.test("SignIns.hasRoomFrom: 0 is no cap", () => {
  const { signIns, begin } = capped(0);
  for (let cid = 1; cid <= 100; cid++) begin(cid);
  assertEquals(signIns.hasRoomFrom(ATTACKER), true);
});

for (
  const [how, end] of [
    ["its client left", (s: SignIns) => s.clientLeft(2)],
    ["a new sign-in began on its cid from elsewhere", (s: SignIns) => {
      s.endOn(2);
      s.track({
        id: "other",
        cid: 2,
        kid: 2,
        createdAt: T0,
        expiresAt: T0 + TIMEOUT_MS,
        commonName: "",
        clientIp: "198.51.100.7",
        run: s.run,
      });
    }],
    ["its answer was written", (s: SignIns) => s.answered(2, "login-2")],
    ["OpenVPN restarted", (s: SignIns) => s.runIs("run-2")],
  ] as const
) {
  Deno.test(`SignIns.hasRoomFrom: the address has room again once a sign-in ends: ${how}`, () => {
    const { signIns, fill } = capped(3);
    fill();
    end(signIns);
    assertEquals(signIns.hasRoomFrom(ATTACKER), true);
  });
}

Deno.test("SignIns.hasRoomFrom: the address has room again when a sign-in's deadline passes", () => {
  const { clock, signIns, fill } = capped(3);
  fill();
  clock.advance(TIMEOUT_MS);
  assertEquals(signIns.hasRoomFrom(ATTACKER), true);
});

Deno.test("SignIns.answered: a sign-in is uncounted once, whatever ends it after its answer", () => {
  const { signIns, fill, begin } = capped(3);
  fill();
  signIns.answered(1, "login-1");
  // The answered client leaves: not uncounted a second time (that would free a place).
  signIns.clientLeft(1);
  signIns.answered(1, "login-1");
  begin(4);
  assertEquals(signIns.hasRoomFrom(ATTACKER), false);
  // An answer for another sign-in than the one on the cid changes nothing.
  signIns.answered(2, "not-this-one");
  assertEquals(signIns.hasRoomFrom(ATTACKER), false);
});
