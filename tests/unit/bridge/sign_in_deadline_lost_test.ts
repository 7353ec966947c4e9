/**
 * A sign-in whose pending login the store lost (a FLUSHALL, Redis restarted without
 * persistence) while its client waits: outside a cluster only this process's callbacks take a
 * server's sign-ins, so a login its deadline finds gone, which none of them took, was lost, and
 * the client is denied as timed out, as when the deadline deletes it. It was left alone as if a
 * callback had taken it, and OpenVPN dropped the client later without the reason. In a cluster
 * another instance's callback may hold it: gone still counts as taken there.
 */
import { assertEquals } from "../../support/assert.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  settle,
  testClientEvents,
  testEnv,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const TIMEOUT_MS = 60_000;

/**
 * Alice's sign-in on cid 4, pending; `meanwhile` does what happens to it before its deadline;
 * then the deadline passes. Returns the commands sent and the lines logged.
 */
async function deadlineAfter(
  soleTaker: boolean | undefined,
  meanwhile: (t: ReturnType<typeof testClientEvents> & { store: MemoryStore }) => Promise<void>,
) {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const t = testClientEvents({
    store,
    clock,
    authPendingTimeoutMs: TIMEOUT_MS,
    newLoginId: () => LOGIN_ID,
    ...(soleTaker === undefined ? {} : { soleTaker }),
  });
  const logs = captureLogs();
  try {
    await t.events.onConnect(4, 1, testEnv({ session_id: "s-new" }));
    await meanwhile({ ...t, store });
    clock.advance(TIMEOUT_MS + 1);
    await settle();
  } finally {
    logs.stop();
    t.events.close();
  }
  return { commands: t.commander.commands, lines: logs.lines };
}

/** The store loses the login: gone without a callback. */
const lose = async ({ store }: { store: MemoryStore }) => {
  assertEquals(await store.deletePending(LOGIN_ID), true);
};

Deno.test("outside a cluster, a sign-in whose pending login the store lost is halted as timed out at its deadline, with a warning saying so", async () => {
  const { commands, lines } = await deadlineAfter(true, lose);
  assertEquals(commands.map((command) => command.kind), ["pending", "halt"]);
  assertEquals(commands[1], {
    kind: "halt",
    cid: 4,
    kid: 1,
    reason: SIGN_IN_TIMED_OUT.logReason,
    clientReason: SIGN_IN_TIMED_OUT.reason,
  });
  assertEquals(
    lines.filter((line) => line.level === "warning").map((line) => line.text),
    [
      "Sign-in for cid 4: its pending login is gone from the session store and no callback " +
      "took it (the store lost its data: a FLUSHALL, or Redis restarted without persistence)",
    ],
  );
  const audit = lines.filter((line) => line.category === "audit");
  assertEquals(audit.map((line) => line.properties.reason), ["timeout"]);
});

Deno.test("outside a cluster, a sign-in a callback here took is still left to that callback at its deadline", async () => {
  const { commands, lines } = await deadlineAfter(true, async ({ admission, store }) => {
    // As LoginFlow takes it: its link told first, then the take (the IdP still answering).
    admission.signInTaking({ server: "default", cid: 4, id: LOGIN_ID });
    assertEquals((await store.takePending(LOGIN_ID))?.cid, 4);
  });
  assertEquals(commands.map((command) => command.kind), ["pending"]);
  assertEquals(lines.filter((line) => line.category === "audit"), []);
});

Deno.test("outside a cluster, a callback's take undone (it found nothing) does not keep a lost sign-in from its timeout", async () => {
  const { commands } = await deadlineAfter(true, async ({ admission, store }) => {
    await lose({ store });
    const undo = admission.signInTaking({ server: "default", cid: 4, id: LOGIN_ID });
    assertEquals(await store.takePending(LOGIN_ID), undefined);
    undo();
  });
  assertEquals(commands.map((command) => command.kind), ["pending", "halt"]);
});

Deno.test("in a cluster (no soleTaker), a sign-in whose pending login is gone is left alone: another instance's callback may hold it", async () => {
  const { commands, lines } = await deadlineAfter(undefined, lose);
  assertEquals(commands.map((command) => command.kind), ["pending"]);
  assertEquals(lines.filter((line) => line.category === "audit"), []);
});
