/**
 * A sign-in that finishes while the management link is down, with the real bridge: OpenVPN
 * keeps its pending client waiting across a management reconnect, so the answer is written when
 * the link is back in the same OpenVPN run, instead of being thrown away and the client left
 * waiting for OpenVPN's own timeout.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { auditRecords } from "../../support/audit_records.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { captureStderr } from "../../support/stderr_capture.ts";

/** Waits until the bridge reports the management link `up` (its /readyz, asked from loopback). */
async function linkIs(h: BridgeHarness, up: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ready = await (await fetch(`${h.baseUrl}/readyz`)).json();
    if (ready.management === up) return;
    if (Date.now() > deadline) {
      throw new Error(`The management link did not go ${up ? "up" : "down"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("a sign-in finished while the management link is down gets its client-auth once the link is back in the same OpenVPN run, and its session admits the client's REAUTH", async () => {
  const h = await BridgeHarness.start({ authPendingTimeout: "20s" });
  await h.reload(
    h.toml.replace(/\[log\]\nlevel = "error"/, '[log]\nlevel = "error"\nformat = "json"'),
  );
  const log = captureStderr();
  try {
    const env = { common_name: "alice", session_id: "s-link-down" };
    const url = await h.connect(0, env);
    const page = await h.browserLogin(url, "alice", "alice-password", {
      beforeCallback: async () => {
        await h.openvpn.stop();
        await linkIs(h, false);
      },
    });
    // Not "VPN connection closed": the client still waits, and may yet connect.
    assertEquals(page.status, 503);
    assertStringIncludes(page.text, "The VPN server did not confirm your connection in time");

    // The same OpenVPN process (same pid and start time) on the same address.
    const mark = h.openvpn.received.length;
    await h.openvpn.restart();
    await h.waitForCommand(mark, (line) => line === "END", 10_000);
    assertEquals(h.commandsSince(mark).filter((line) => line.startsWith("client-auth")), [
      "client-auth 0 1",
    ]);

    const reauth = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 0, 2, clientEnv(env));
    await h.waitForCommand(reauth, (line) => line === "client-auth-nt 0 2");

    const audit = auditRecords(log.lines())
      .map(({ event, cid, username }) => ({ event, cid, username }));
    assertEquals(audit, [{ event: "admitted", cid: 0, username: "alice" }]);
  } finally {
    log.restore();
    await h.stop();
  }
});
