/**
 * The audit log with the real bridge: who was admitted, and whose session another path ended
 * (sessions.max_per_user through SessionEnd), as JSON lines under the audit category.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";
import { captureStderr } from "../../support/stderr_capture.ts";

Deno.test("audit: an admission and a session ended by max_per_user, as JSON lines", async () => {
  const h = await BridgeHarness.start({ sessionsToml: "max_per_user = 1" });
  await h.reload(
    h.toml.replace(/\[log\]\nlevel = "error"/, '[log]\nlevel = "error"\nformat = "json"'),
  );
  const log = captureStderr();
  try {
    for (const cid of [0, 1]) {
      const url = await h.connect(cid, { common_name: `alice-${cid}`, session_id: `s-${cid}` });
      const mark = h.openvpn.received.length;
      await h.browserLogin(url, "alice", "alice-password");
      await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
    }
    await h.waitForCommand(
      0,
      (line) => line === 'client-kill 0 "RESTART,You signed in on another device"',
    );
    const audit = log.lines().map((line) => JSON.parse(line))
      .filter((record) => record.logger === "openvpn-auth-oidc.audit")
      .map(({ properties: { subject: _subject, ...rest } }) => rest);
    assertEquals(audit, [
      {
        event: "admitted",
        username: "alice",
        server: "default",
        cid: 0,
        commonName: "alice-0",
        clientIp: "127.0.0.1",
        reason: null,
      },
      {
        event: "admitted",
        username: "alice",
        server: "default",
        cid: 1,
        commonName: "alice-1",
        clientIp: "127.0.0.1",
        reason: null,
      },
      {
        event: "session_ended",
        username: "alice",
        server: "default",
        cid: 0,
        commonName: "alice-0",
        clientIp: "127.0.0.1",
        reason: "max_per_user",
      },
    ]);
  } finally {
    log.restore();
    await h.stop();
  }
});
