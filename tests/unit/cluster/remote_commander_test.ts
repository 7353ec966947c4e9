/**
 * What the requesting instance makes of the outcome the holder recorded: SUCCESS, OpenVPN's
 * refusal, nobody carrying it out, or a command written and not answered.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { CommandUndeliveredError, outcomeUnknown } from "../../../src/bridge/commander.ts";
import { remoteCommander } from "../../../src/cluster/remote_commander.ts";
import type { WorkOp, WorkOutcome } from "../../../src/cluster/work_item.ts";
import { ManagementCommandError } from "../../../src/management/errors.ts";

function commanderAnswering(outcome: WorkOutcome) {
  return remoteCommander({ submit: () => Promise.resolve(outcome) }, "udp", 3_000);
}

Deno.test("a remote command resolves on ok, rejects as OpenVPN's refusal, and as unconfirmed when nobody ran it or no answer came", async () => {
  await commanderAnswering({ kind: "ok" }).auth(1, 1, []);
  const refused = await assertRejects(
    () => commanderAnswering({ kind: "refused", message: "ERROR: no such client" }).auth(1, 1, []),
    ManagementCommandError,
  );
  assert(!outcomeUnknown(refused));
  for (const kind of ["expired", "unknown"] as const) {
    const error = await assertRejects(
      () => commanderAnswering({ kind }).auth(1, 1, []),
      CommandUndeliveredError,
    );
    // Unconfirmed, not refused: the sign-in keeps its session (OpenVPN may have admitted it).
    assert(outcomeUnknown(error), kind);
  }
});

/** A remote commander of server "udp" whose queue takes every item, and what it was given. */
function recordingRemote() {
  const submitted: WorkOp[] = [];
  const commander = remoteCommander(
    {
      submit: (_server, item) => {
        submitted.push(item);
        return Promise.resolve({ kind: "ok" });
      },
    },
    "udp",
    3_000,
  );
  return { submitted, commander };
}

Deno.test("a kill is queued with the run its client was seen in, when known", async () => {
  const { submitted, commander } = recordingRemote();
  await commander.kill(3, "RESTART", "run-1");
  await commander.kill(4, "RESTART");
  assertEquals(submitted, [
    { op: "kill", cid: 3, message: "RESTART", openvpnRun: "run-1" },
    { op: "kill", cid: 4, message: "RESTART" },
  ]);
});

Deno.test("a browser sign-in's client-auth, client-deny and HALT are queued with their sign-in, for the holder's guard", async () => {
  const { submitted, commander } = recordingRemote();
  const signIn = { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "4242@1795878880:CONNECTED" };
  await commander.auth(1, 1, ["push x"], signIn);
  await commander.deny(2, 1, "denied", "Not allowed", signIn);
  await commander.halt(4, 1, "group", "Not in a group", signIn);
  await commander.auth(3, 1, []);
  assertEquals(submitted, [
    { op: "auth", cid: 1, kid: 1, lines: ["push x"], signIn },
    { op: "deny", cid: 2, kid: 1, reason: "denied", clientReason: "Not allowed", signIn },
    // A deny flagged: a holder of an earlier version sends it as the client-deny.
    {
      op: "deny",
      cid: 4,
      kid: 1,
      reason: "group",
      clientReason: "Not in a group",
      signIn,
      halt: true,
    },
    { op: "auth", cid: 3, kid: 1, lines: [] },
  ]);
});
