import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { outcomeUnknown, type SignInRef } from "../../../src/bridge/commander.ts";
import { heldFirstCommander } from "../../../src/cluster/held_first_commander.ts";
import {
  ManagementCommandError,
  ManagementConnectionError,
} from "../../../src/management/errors.ts";

/** A held link's commander that records and then fails every command with `error`, if set. */
class FailingLink extends RecordingCommander {
  error: Error | undefined;

  override auth(
    cid: number,
    kid: number,
    lines: readonly string[],
    signIn?: SignInRef,
  ): Promise<void> {
    return super.auth(cid, kid, lines, signIn).then(() => {
      if (this.error) throw this.error;
    });
  }

  override kill(cid: number, message: string, openvpnRun?: string): Promise<void> {
    return super.kill(cid, message, openvpnRun).then(() => {
      if (this.error) throw this.error;
    });
  }
}

function setUp() {
  const link = new FailingLink();
  const remote = new RecordingCommander();
  let holding = true;
  const commander = heldFirstCommander(() => (holding ? link : undefined), remote);
  return { link, remote, commander, letGo: () => (holding = false) };
}

Deno.test("the holder writes its own commands on its link, not through Redis", async () => {
  const { link, remote, commander } = setUp();
  await commander.pendingAuth(1, 1, "https://vpn.example/l/x", 180);
  await commander.auth(1, 1, ['push "route 10.0.0.0 255.0.0.0"']);
  await commander.authNt(1, 2);
  await commander.deny(2, 1, "denied", "Not allowed");
  await commander.kill(3, "revoked");
  assertEquals(link.commands.map((c) => c.kind), ["pending", "auth", "auth-nt", "deny", "kill"]);
  assertEquals(link.commands[1], {
    kind: "auth",
    cid: 1,
    kid: 1,
    lines: ['push "route 10.0.0.0 255.0.0.0"'],
  });
  assertEquals(remote.commands, []);
});

Deno.test("an instance that does not hold the link (or has not connected it) sends through Redis", async () => {
  const { link, remote, commander, letGo } = setUp();
  letGo();
  await commander.auth(1, 1, []);
  await commander.kill(3, "revoked", "run-1");
  assertEquals(link.commands, []);
  assertEquals(remote.commands.map((c) => c.kind), ["auth", "kill"]);
  // The kill keeps the run its client was seen in, for the holder's guard.
  assertEquals(remote.commands[1], {
    kind: "kill",
    cid: 3,
    message: "revoked",
    openvpnRun: "run-1",
  });
});

Deno.test("a command the held link did not write (link down, lease may have run out) goes through Redis", async () => {
  for (
    const error of [
      new ManagementConnectionError("not-written", "Not written: lease"),
      new ManagementConnectionError("not-connected", "no link"),
    ]
  ) {
    const { link, remote, commander } = setUp();
    link.error = error;
    await commander.auth(4, 2, ["x"]);
    assertEquals(link.commands.length, 1, error.code);
    assertEquals(remote.commands, [{ kind: "auth", cid: 4, kid: 2, lines: ["x"] }], error.code);
  }
});

Deno.test("a command written and not answered is not sent again (OpenVPN may have run it, and would refuse the second): the caller hears it was not confirmed", async () => {
  for (
    const error of [
      new ManagementConnectionError("timeout", "no reply in time"),
      new ManagementConnectionError("disconnected", "link dropped"),
      new ManagementConnectionError("closed", "Management connection closed"),
    ]
  ) {
    const { link, remote, commander } = setUp();
    link.error = error;
    const thrown = await assertRejects(
      () => commander.auth(4, 2, ["x"]),
      ManagementConnectionError,
    );
    assertEquals(thrown.code, error.code);
    assert(outcomeUnknown(thrown), error.code);
    assertEquals(remote.commands, [], error.code);
  }
});

Deno.test("OpenVPN's refusal on the held link is the answer: not sent again through Redis", async () => {
  const { link, remote, commander } = setUp();
  link.error = new ManagementCommandError("client-kill", "ERROR: client-kill command failed");
  await assertRejects(() => commander.kill(9, "revoked"), ManagementCommandError);
  link.error = new RangeError("argument too long");
  await assertRejects(() => commander.auth(9, 1, []), RangeError);
  assertEquals(remote.commands, []);
});

Deno.test("a browser sign-in's answer carries its sign-in on either path, for the holder's guard", async () => {
  const { link, remote, commander, letGo } = setUp();
  const signIn = { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "4242@1795878880:CONNECTED" };
  await commander.auth(1, 1, [], signIn);
  await commander.deny(2, 1, "denied", "Not allowed", signIn);
  letGo();
  await commander.auth(3, 1, [], signIn);
  await commander.deny(4, 1, "denied", "Not allowed", signIn);
  assertEquals(link.commands.map((c) => "signIn" in c && c.signIn), [signIn, signIn]);
  assertEquals(remote.commands.map((c) => "signIn" in c && c.signIn), [signIn, signIn]);
});

Deno.test("the holder's own kill keeps the run its client was seen in, for its link's guard (a restarted OpenVPN's new client on that cid is not killed)", async () => {
  const { link, remote, commander } = setUp();
  await commander.kill(3, "revoked", "run-1");
  assertEquals(link.commands, [{ kind: "kill", cid: 3, message: "revoked", openvpnRun: "run-1" }]);
  assertEquals(remote.commands, []);
});
