/**
 * `openvpn.max_pending_per_address`: each sign-in holds one of OpenVPN's `max-clients` places
 * until it ends, so one host sending CONNECTs without credentials (`verify-client-cert none`)
 * could keep a server full. A CONNECT from an address (an IPv6 /64) with that many sign-ins
 * waiting is stopped with HALT, whose place OpenVPN frees when it ends the killed instance (about
 * 5 s later), and the address may start again
 * as soon as one of its sign-ins ends.
 */
import { assertEquals } from "../../support/assert.ts";
import { TOO_MANY_SIGN_INS } from "../../../src/bridge/denial.ts";
import { signInGuard } from "../../../src/bridge/sign_in_guard.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { EVENTS_T0 as T0, testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";

const ATTACKER = "203.0.113.66";
const RUN = "4242@1795878880:CONNECTED";

/** ClientEvents with a cap of 3 sign-ins per address. */
async function cappedAt3() {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const counted: string[] = [];
  const t = testClientEvents({
    store,
    clock,
    maxPendingPerAddress: 3,
    metrics: countingMetrics(counted),
  });
  await t.events.openvpnRunIs(RUN);
  /** A client without a certificate connecting on `cid` from `ip`; what it was answered. */
  const connect = async (cid: number, ip = ATTACKER) => {
    const mark = t.commander.commands.length;
    await t.events.onConnect(
      cid,
      1,
      testEnv({ common_name: "", tls_serial_0: "", session_id: `s-${cid}`, untrusted_ip: ip }),
    );
    return t.commander.commands.slice(mark).map((command) => command.kind);
  };
  return { ...t, store, counted, connect };
}

const HALTED = {
  kind: "halt",
  cid: 4,
  kid: 1,
  reason: "openvpn.max_pending_per_address reached",
  clientReason: "Too many sign-ins from your address; try again in a few minutes",
};

Deno.test("the CONNECT over max_pending_per_address is stopped with HALT; another address still signs in", async () => {
  const t = await cappedAt3();
  try {
    for (const cid of [1, 2, 3]) assertEquals(await t.connect(cid), ["pending"]);
    assertEquals(await t.connect(4), ["halt"]);
    assertEquals(t.commander.commands.at(-1), HALTED);
    assertEquals(TOO_MANY_SIGN_INS.reason, HALTED.clientReason);
    // Nothing stored for it: no deadline left to deny it again.
    assertEquals((await t.store.countLive("default")).pending, 3);
    assertEquals(await t.connect(5, "198.51.100.7"), ["pending"]);
    assertEquals(t.counted, ["denial too_many_sign_ins"]);
  } finally {
    t.events.close();
  }
});

Deno.test("max_pending_per_address: after a DISCONNECT of one of its clients the address may start again", async () => {
  const t = await cappedAt3();
  try {
    for (const cid of [1, 2, 3]) await t.connect(cid);
    await t.events.onDisconnect(2);
    assertEquals(await t.connect(4), ["pending"]);
    assertEquals(await t.connect(5), ["halt"]);
  } finally {
    t.events.close();
  }
});

Deno.test("max_pending_per_address: two addresses in one IPv6 /64 count as one", async () => {
  const t = await cappedAt3();
  try {
    await t.connect(1, "2001:db8:7:1::1");
    await t.connect(2, "2001:db8:7:1::2");
    await t.connect(3, "2001:db8:7:1:a:b:c:d");
    assertEquals(await t.connect(4, "2001:db8:7:1::4"), ["halt"]);
    assertEquals(await t.connect(5, "2001:db8:7:2::1"), ["pending"]);
  } finally {
    t.events.close();
  }
});

Deno.test("max_pending_per_address: a sign-in answered through the guard no longer counts", async () => {
  const t = await cappedAt3();
  // As the daemon's link builder wires sign-in answers (server_link_builder.ts).
  const guarded = signInGuard(
    t.commander,
    (cid, signIn) => t.events.isCurrentSignIn(cid, signIn),
    () => t.events.openvpnRun,
    (cid, signIn) => t.events.signInAnswered(cid, signIn),
  );
  try {
    for (const cid of [1, 2, 3]) await t.connect(cid);
    const first = t.commander.commands[0]!;
    const loginId = first.kind === "pending" ? first.url.split("/login/")[1]! : "";
    await guarded.auth(1, 1, [], { loginId, openvpnRun: RUN });
    assertEquals(await t.connect(4), ["pending"]);
  } finally {
    t.events.close();
  }
});

Deno.test("max_pending_per_address: a flood is audited per CONNECT, warned about once a minute", async () => {
  const t = await cappedAt3();
  try {
    for (const cid of [1, 2, 3]) await t.connect(cid);
    const lines = await logsOf(async () => {
      for (const cid of [4, 5, 6]) await t.connect(cid);
    });
    const audit = lines.filter((line) => line.category === "audit").map((line) => line.text);
    assertEquals(audit.length, 3);
    for (const line of audit) assertEquals(line.endsWith(": too_many_sign_ins"), true, line);
    const told = lines.filter((line) =>
      line.category !== "audit" && line.text.includes("max_pending_per_address")
    );
    assertEquals(told.map((line) => line.level), ["warning", "debug", "debug"]);
    assertEquals(told[0]!.properties.clientIp, ATTACKER);
  } finally {
    t.events.close();
  }
});
