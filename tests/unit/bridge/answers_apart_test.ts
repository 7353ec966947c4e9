import { assert, assertEquals } from "../../support/assert.ts";
import { INTERNAL_ERROR } from "../../../src/bridge/denial.ts";
import {
  ManagementCommandError,
  ManagementConnectionError,
} from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { SignInRef } from "../../../src/bridge/commander.ts";
import {
  EVENTS_T0,
  settle,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

/** Records every answer and holds OpenVPN's reply to it until the test gives one. */
class HeldReplies extends RecordingCommander {
  readonly replies: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  #held(sent: Promise<void>): Promise<void> {
    sent.catch(() => {});
    return new Promise((resolve, reject) => this.replies.push({ resolve, reject }));
  }
  override authNt(cid: number, kid: number): Promise<void> {
    return this.#held(super.authNt(cid, kid));
  }
  override pendingAuth(cid: number, kid: number, url: string, timeoutSec: number): Promise<void> {
    return this.#held(super.pendingAuth(cid, kid, url, timeoutSec));
  }
  override auth(
    cid: number,
    kid: number,
    lines: readonly string[],
    signIn?: SignInRef,
  ): Promise<void> {
    return this.#held(super.auth(cid, kid, lines, signIn));
  }
}

async function eventsWithHeldReplies() {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  await store.putSession(testSession({ sessionId: "s-alice", cid: 4, resumable: true }));
  const commander = new HeldReplies();
  const { events } = testClientEvents({
    store,
    clock: new FakeClock(EVENTS_T0),
    eventsCommander: commander,
  });
  return { store, commander, events };
}

const reauthEnv = () => testEnv({ session_id: "s-alice", session_state: "Authenticated" });

/** Whether `handling` settled within a few turns, with every reply still held. */
async function handledBeforeReply(handling: Promise<void>): Promise<boolean> {
  let done = false;
  handling.then(() => (done = true), () => (done = true));
  await settle();
  return done;
}

Deno.test("a REAUTH's handling ends once client-auth-nt is written, not when OpenVPN replies (its block is not held for the round trip)", async () => {
  const t = await eventsWithHeldReplies();
  assert(await handledBeforeReply(t.events.onReauth(4, 3, reauthEnv())));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 3 }]);
  t.commander.replies[0]!.resolve();
  await settle();
  assertEquals(t.commander.commands.length, 1, "a taken answer: nothing more");
  t.events.close();
});

Deno.test("a CONNECT's handling ends once client-pending-auth is written", async () => {
  const t = await eventsWithHeldReplies();
  assert(await handledBeforeReply(t.events.onConnect(9, 1, testEnv({ session_id: "s-new" }))));
  assertEquals(t.commander.commands.map((c) => c.kind), ["pending"]);
  t.events.close();
});

Deno.test("an admission that is audited (a token reconnect's client-auth) still waits for OpenVPN's reply", async () => {
  const t = await eventsWithHeldReplies();
  const handling = t.events.onConnect(7, 1, reauthEnv());
  assert(!(await handledBeforeReply(handling)));
  assertEquals(t.commander.commands.map((c) => c.kind), ["auth"]);
  t.commander.replies[0]!.resolve();
  await handling;
  t.events.close();
});

Deno.test("OpenVPN refusing a client-pending-auth sent apart denies the client by its ids, with a warning: it still waits for an answer", async () => {
  const t = await eventsWithHeldReplies();
  const logs = captureLogs();
  try {
    await t.events.onConnect(4, 3, testEnv({ session_id: "s-new" }));
    // OpenVPN's words for a client gone, a key past its handshake window, or a URL too long.
    t.commander.replies[0]!.reject(
      new ManagementCommandError(
        "client-pending-auth",
        "client-pending-auth command failed. Extra parameter might be too long",
      ),
    );
    await settle();
    const denials = t.commander.commands.filter((c) => c.kind === "deny");
    assertEquals(denials, [{
      kind: "deny",
      cid: 4,
      kid: 3,
      reason: INTERNAL_ERROR.logReason,
      clientReason: INTERNAL_ERROR.reason,
    }]);
    const warning = logs.lines.find((line) => line.text.includes("did not take"));
    assertEquals(warning?.level, "warning");
    assert(warning?.text.includes("client-pending-auth command failed"), warning?.text);
  } finally {
    logs.stop();
    t.events.close();
  }
});

// OpenVPN answers both auth commands with `client-auth command failed` (manage.c).
for (
  const [reply, level] of [
    ["client-auth command failed", "info"],
    ["cannot parse KID", "error"],
  ] as const
) {
  Deno.test(`OpenVPN refusing a client-auth-nt sent apart (${reply}) is not followed by a client-deny: that was the answer`, async () => {
    const t = await eventsWithHeldReplies();
    const logs = captureLogs();
    try {
      await t.events.onReauth(4, 3, reauthEnv());
      t.commander.replies[0]!.reject(new ManagementCommandError("client-auth-nt", reply));
      await settle();
      assertEquals(t.commander.commands.map((c) => c.kind), ["auth-nt"]);
      const refused = logs.lines.find((line) => line.text.includes("OpenVPN refused"));
      assertEquals(refused?.level, level);
      assert(refused?.text.includes(reply), refused?.text);
    } finally {
      logs.stop();
      t.events.close();
    }
  });
}

for (const code of ["timeout", "disconnected"] as const) {
  Deno.test(`a client-auth-nt sent apart and not confirmed (${code}) is not followed by a client-deny: OpenVPN may still take it`, async () => {
    const t = await eventsWithHeldReplies();
    const logs = captureLogs();
    try {
      await t.events.onReauth(4, 3, reauthEnv());
      t.commander.replies[0]!.reject(
        new ManagementConnectionError(code, "Management command timed out: client-auth-nt"),
      );
      await settle();
      assertEquals(t.commander.commands.map((c) => c.kind), ["auth-nt"]);
      const warning = logs.lines.find((line) => line.text.includes("did not confirm"));
      assertEquals(warning?.level, "warning");
    } finally {
      logs.stop();
      t.events.close();
    }
  });
}

Deno.test("replies lost because the service stops are not reported as refused", async () => {
  const t = await eventsWithHeldReplies();
  const logs = captureLogs();
  try {
    await t.events.onReauth(4, 3, reauthEnv());
    t.events.close();
    t.commander.replies[0]!.reject(new Error("Management connection closed"));
    await settle();
    assertEquals(t.commander.commands.map((c) => c.kind), ["auth-nt"]);
    assertEquals(logs.lines.filter((line) => line.text.includes("did not take")), []);
  } finally {
    logs.stop();
  }
});
