/**
 * The audit log with the real bridge: who was admitted, and whose session another path ended
 * (sessions.max_per_user through SessionEnd), as JSON lines under the audit category.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";
import { captureStderr } from "../../support/stderr_capture.ts";

/**
 * Alice signs in on cid 0, then on cid 1, with the certificates `commonNames`, under
 * max_per_user = 1: the audit lines (without the subject) once cid 0 is killed.
 */
async function secondSignInAudit(commonNames: [string, string]) {
  const h = await BridgeHarness.start({ sessionsToml: "max_per_user = 1" });
  await h.reload(
    h.toml.replace(/\[log\]\nlevel = "error"/, '[log]\nlevel = "error"\nformat = "json"'),
  );
  const log = captureStderr();
  try {
    for (const cid of [0, 1]) {
      const url = await h.connect(cid, { common_name: commonNames[cid]!, session_id: `s-${cid}` });
      const mark = h.openvpn.received.length;
      await h.browserLogin(url, "alice", "alice-password");
      await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
    }
    await h.waitForCommand(
      0,
      (line) => line === 'client-kill 0 "RESTART,You signed in on another device"',
    );
    return log.lines().map((line) => JSON.parse(line))
      .filter((record) => record.logger === "openvpn-auth-oidc.audit")
      .map(({ properties: { subject: _subject, ...rest } }) => rest);
  } finally {
    log.restore();
    await h.stop();
  }
}

/** An audit line of alice's from 127.0.0.1 on `default`. */
function aliceLine(event: string, cid: number, commonName: string, reason: string | null) {
  const where = { server: "default", cid, commonName, clientIp: "127.0.0.1" };
  return { event, username: "alice", ...where, reason };
}

Deno.test("audit: an admission and a session ended by max_per_user, as JSON lines", async () => {
  assertEquals(await secondSignInAudit(["alice-0", "alice-1"]), [
    aliceLine("admitted", 0, "alice-0", null),
    aliceLine("admitted", 1, "alice-1", null),
    aliceLine("session_ended", 0, "alice-0", "max_per_user"),
  ]);
});

Deno.test("audit: a session replaced by a sign-in from the same device ends as replaced, not max_per_user", async () => {
  assertEquals(await secondSignInAudit(["alice", "alice"]), [
    aliceLine("admitted", 0, "alice", null),
    aliceLine("admitted", 1, "alice", null),
    aliceLine("session_ended", 0, "alice", "replaced"),
  ]);
});
