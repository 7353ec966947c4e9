/**
 * The service stopping while its refresh checks cannot ask the IdP tells the outage as it stands
 * (Admission.stopped, called by the daemon's stop): how many sessions could not be re-checked,
 * under the real daemon with the test IdP gone.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { captureLogs } from "../../support/log_capture.ts";

Deno.test("the service stopping during an IdP outage its REAUTHs met tells how many sessions could not be re-checked", async () => {
  const h = await BridgeHarness.start({ reauthCheck: "refresh" });
  const logs = captureLogs();
  try {
    const env = { common_name: "alice", session_id: "s-outage" };
    await h.signIn(0, env);
    await h.idp.stop();
    const mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 0, 2, clientEnv(env));
    await h.waitForCommand(mark, (line) => line.startsWith("client-deny 0 2 "), 15_000);
    await h.stopBridge();
    const told = logs.lines.filter((line) => line.text.includes("the identity provider"));
    assertEquals(told.map(({ level }) => level), ["warning", "info"]);
    assert(told[0]!.text.startsWith("Refresh checks cannot ask the identity provider ("));
    assertEquals(
      told[1]!.text,
      "Stopping while refresh checks cannot ask the identity provider: 1 session(s) could not " +
        "be re-checked meanwhile (their clients refused or disconnected, the sessions kept)",
    );
  } finally {
    logs.stop();
    await h.stop();
  }
});
