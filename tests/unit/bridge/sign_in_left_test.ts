/**
 * A client that leaves while its user has not finished signing in gets one info line saying how
 * long it waited: OpenVPN ends such a client silently when `inactive` is shorter than the sign-in
 * (README, OpenVPN server configuration), and the bridge's log otherwise showed nothing.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";

const T0 = 1_800_000_000_000;
const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";

function signingIn() {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({
    store,
    clock,
    authPendingTimeoutMs: 120_000,
    newLoginId: () => LOGIN_ID,
  });
  return { clock, store, events };
}

const leftLines = (lines: Awaited<ReturnType<typeof logsOf>>) =>
  lines.filter((line) => line.text.includes("into its browser sign-in"));

Deno.test("a client that leaves mid sign-in is logged once at info, with how long it waited and the inactive it needs", async () => {
  const { clock, events } = signingIn();
  try {
    await events.onConnect(3, 1, testEnv({ untrusted_ip: "192.0.2.10" }));
    // OpenVPN's `inactive 20` on the server ends the client's instance 20 s in.
    clock.advance(20_000);
    const lines = leftLines(await logsOf(() => events.onDisconnect(3)));
    assertEquals(lines.map((line) => [line.level, line.properties]), [[
      "info",
      { server: "default", commonName: "alice", cid: 3, seconds: 20, pendingSeconds: 125 },
    ]]);
  } finally {
    events.close();
  }
});

Deno.test("the line names OpenVPN restarting among the causes: a restart in place sends every sign-in's DISCONNECT before it says it restarted", async () => {
  const { clock, events } = signingIn();
  try {
    await events.onConnect(3, 1, testEnv({ untrusted_ip: "192.0.2.10" }));
    clock.advance(20_000);
    // The DISCONNECT of OpenVPN 2.6 restarting on SIGHUP (restart_in_place.ts): an empty ENV,
    // as at any other departure mid sign-in; the state line that tells the restart comes after.
    const lines = leftLines(await logsOf(() => events.onDisconnect(3)));
    assertEquals(lines.length, 1);
    assertEquals(
      lines[0]!.text.endsWith(
        "alice (cid 3) left 20 s into its browser sign-in, unfinished: its user cancelled, " +
          "OpenVPN restarted, or OpenVPN ended it, and then OpenVPN's log says why " +
          '("Inactivity timeout (--inactive)": inactive must be 0 or more than 125 s)',
      ),
      true,
      lines[0]!.text,
    );
  } finally {
    events.close();
  }
});

Deno.test("a client that leaves once its sign-in was taken to be answered, or with none, gets no such line", async () => {
  const { clock, store, events } = signingIn();
  try {
    await events.onConnect(3, 1, testEnv({ untrusted_ip: "192.0.2.10" }));
    clock.advance(20_000);
    // The callback took it: the sign-in is being (or was) answered.
    await store.takePending(LOGIN_ID);
    assertEquals(leftLines(await logsOf(() => events.onDisconnect(3))), []);
    assertEquals(leftLines(await logsOf(() => events.onDisconnect(4))), []);
  } finally {
    events.close();
  }
});
