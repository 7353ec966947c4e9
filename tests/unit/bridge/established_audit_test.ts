/**
 * The `established` audit line of an ESTABLISHED (client_events.ts): it names the user of the
 * session bound to the client, and only a binding that is the client's: one of the run the link
 * told (a binding from before OpenVPN restarted can outlive the restart while the link-up
 * clean-up runs, and its cid names a new client), and of the client's certificate name.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  settle,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

/**
 * The user and session of the `established` line of cid 4 (ENV `env`), in run-2, with `bound`
 * stored.
 */
async function establishedUser(
  bound: Session,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({ store, clock });
  await events.openvpnRunIs("run-1");
  await store.putSession(bound);
  await events.openvpnRunIs("run-2");
  const capture = captureLogs();
  try {
    await events.onEstablished(4, testEnv({ ifconfig_pool_remote_ip: "10.8.0.23", ...env }));
    await settle();
    const lines = capture.lines.filter((line) => line.category === "audit");
    assertEquals(lines.map(({ properties }) => properties["event"]), ["established"]);
    const { username, sessionId, cid, commonName, virtualIp } = lines[0]!.properties;
    return { username, sessionId, cid, commonName, virtualIp };
  } finally {
    capture.stop();
    events.close();
  }
}

const NOBODY = { username: "", sessionId: null, cid: 4, virtualIp: "10.8.0.23" };

Deno.test("ESTABLISHED names the user of the session bound to its cid in the run the link told", async () => {
  assertEquals(
    await establishedUser(testSession({ openvpnRun: "run-2" }), { session_id: "" }),
    { username: "alice", sessionId: "s-1", cid: 4, commonName: "alice", virtualIp: "10.8.0.23" },
  );
});

Deno.test("ESTABLISHED of a new run's client names nobody for a binding of the run before, by cid or by session_id", async () => {
  const bobs = testSession({ sessionId: "s-bob", username: "bob", commonName: "bob" });
  for (const session_id of ["", "s-bob"]) {
    assertEquals(
      await establishedUser({ ...bobs, openvpnRun: "run-1" }, { common_name: "bob", session_id }),
      { ...NOBODY, commonName: "bob" },
    );
  }
});

Deno.test("ESTABLISHED names nobody for a session bound to its cid under another certificate name", async () => {
  const bobs = testSession({ sessionId: "s-bob", username: "bob", commonName: "bob" });
  assertEquals(
    await establishedUser(bobs, { common_name: "carol", session_id: "" }),
    { ...NOBODY, commonName: "carol" },
  );
});
