/**
 * OpenVPN restarting in place within the second of its last CONNECTED (openvpn_run.ts): with
 * management-hold, which the bridge releases at once, a SIGUSR1 restart takes well under a
 * second, and two in a row gave CONNECTED twice in one second (2.6.14, measured). The run after
 * it must not be taken for the run before, by the bridge that saw it live nor by one whose link
 * comes up after it: a cid and key id of the run before name another client now.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testEnv, testSession } from "../../support/client_events_fixture.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { STARTED_AT } from "../../support/openvpn_side.ts";
import { restartInPlace } from "../../support/restart_in_place.ts";
import { linkAndEvents } from "../../support/server_link_fixture.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

/** The run of the stand-in's start (pid 4242, CONNECTED in second STARTED_AT). */
const FIRST_RUN = `4242@${STARTED_AT}:CONNECTED`;

/** Alice's session (s-1), signed in a minute ago: resumable, bound to `cid` of `run`. */
function alice(cid?: number, run?: string) {
  return testSession({
    resumable: true,
    lastAuthAt: Date.now() - 60_000,
    ...(cid === undefined ? {} : { cid }),
    ...(run === undefined ? {} : { openvpnRun: run }),
  });
}

const answers = (server: FakeManagementServer, since: number) =>
  server.received.slice(since).filter((line) => /^client-(auth|deny|kill)/.test(line));

Deno.test("a CONNECT answered after OpenVPN restarted in place within its second admits nobody: its cid and key id name another client", async () => {
  const server = await FakeManagementServer.start();
  const store = new MemoryStore({ maxEntries: 10 });
  await store.putSession(alice(undefined));
  const { link, events, admission } = linkAndEvents(server, { store });
  const logs = captureLogs();
  link.start();
  try {
    await server.waitForLine("status 3");
    assertEquals(events.openvpnRun, FIRST_RUN);
    // Alice's client comes back with her token; her session's lock is held (a re-check at the
    // IdP, say) while OpenVPN restarts on SIGUSR1, all within second STARTED_AT.
    let release!: () => void;
    const locked = admission.sessionLock.run("s-1", () => new Promise<void>((r) => release = r));
    server.sendClientBlock(
      "CONNECT",
      0,
      1,
      Object.fromEntries(testEnv({ session_state: "Authenticated", IV_VER: "2.6.14" })),
    );
    const restarted = server.received.length;
    await restartInPlace(server, "SIGUSR1", [{ cid: 0, env: {} }], STARTED_AT);
    // Cid 0 key id 1 is whoever came back first now. Her CONNECT is decided only now.
    release();
    await locked;
    await pollUntil(
      "her CONNECT to be decided",
      () =>
        Promise.resolve(
          answers(server, restarted).length > 0 ||
            logs.lines.some((line) => line.text.includes("no answer sent")) ||
            undefined,
        ),
      5000,
      10,
    );
    assertEquals(answers(server, restarted), []);
  } finally {
    logs.stop();
    await link.stop();
    await server.stop();
  }
});

Deno.test("a link that comes up after a restart in place within the second ends the sessions bound in the run before, and kills nobody for them", async () => {
  const server = await FakeManagementServer.start();
  // OpenVPN restarted on SIGUSR1 in its start's second; Bob came back first, on cid 1.
  server.laterStates.push(
    `${STARTED_AT},RECONNECTING,SIGUSR1,,,,,`,
    `${STARTED_AT},ASSIGN_IP,,10.201.0.1,,,,`,
    `${STARTED_AT},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`,
  );
  server.clients.set(1, "bob");
  const store = new MemoryStore({ maxEntries: 10 });
  // Alice was bound to cid 1 in the run before, by a bridge that has gone since. A marker
  // stored after her, on a cid OpenVPN does not list: once it is ended, the link-up's check of
  // which clients are gone has passed hers.
  await store.putSession(alice(1, FIRST_RUN));
  await store.putSession(
    testSession({ sessionId: "s-marker", cid: 9, lastAuthAt: Date.now() - 60_000 }),
  );
  const { link, sessionEnd } = linkAndEvents(server, { store });
  link.start();
  try {
    await pollUntil(
      "the link-up's check to end the marker",
      async () => (await store.getSession("s-marker")) === undefined || undefined,
      5000,
      10,
    );
    assertEquals((await store.getSession("s-1"))?.cid, undefined);
    // Her session is ended by an administrator: no kill reaches Bob's client.
    const mark = server.received.length;
    await sessionEnd.endAll(["s-1"], "admin-revoke");
    assertEquals(answers(server, mark), []);
  } finally {
    await link.stop();
    await server.stop();
  }
});
