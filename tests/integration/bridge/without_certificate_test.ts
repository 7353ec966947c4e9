/**
 * A client without a certificate (`verify-client-cert none`, `username-as-common-name`) through
 * the real daemon: it signs in once in the browser, and its REAUTHs, whose `common_name` is the
 * user name OpenVPN copied in after that sign-in, are answered from the session it made.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv, WITHOUT_CERTIFICATE } from "../../support/bridge_harness.ts";

Deno.test("a client without a certificate signs in once; its REAUTHs (common_name = its user name) get client-auth-nt", async () => {
  const h = await BridgeHarness.start();
  try {
    // As OpenVPN 2.6.14 sends them: no tls_serial_0 ever, no common_name at the CONNECT.
    const typed = { ...WITHOUT_CERTIFICATE, username: "alice", session_id: "s-nocert" };
    await h.signIn(0, typed);

    for (const kid of [2, 3]) {
      const mark = h.openvpn.received.length;
      h.openvpn.sendClientBlock(
        "REAUTH",
        0,
        kid,
        clientEnv({ ...typed, common_name: "alice", session_state: "Authenticated" }),
      );
      const answer = await h.waitForCommand(mark, (line) => / 0 \d/.test(line));
      assertEquals(answer, `client-auth-nt 0 ${kid}`);
    }
  } finally {
    await h.stop();
  }
});
