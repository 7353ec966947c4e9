/**
 * README, "Certificate authorities": a bridge whose IdP has a certificate from a private CA (a
 * company's, as many Keycloak servers have) signs users in with `oidc.tls_ca_file`; without it
 * the sign-in fails closed and the log names the setting.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { captureLogs } from "../../support/log_capture.ts";

Deno.test("with oidc.tls_ca_file the bridge signs a VPN client in at an IdP whose certificate a private CA signed", async () => {
  const harness = await BridgeHarness.start({ idpCa: "trusted" });
  try {
    assert(harness.idp.issuer.startsWith("https://"), harness.idp.issuer);
    // Discovery, the keys and the code exchange all go to the IdP over its private CA.
    await harness.signIn(1, clientEnv({ session_id: "sess-private-ca" }));
  } finally {
    await harness.stop();
  }
});

Deno.test("without oidc.tls_ca_file the bridge refuses to send the user to that IdP and logs the fix", async () => {
  const harness = await BridgeHarness.start({ idpCa: "untrusted" });
  const logs = captureLogs();
  try {
    const url = await harness.connect(1, clientEnv({ session_id: "sess-untrusted-ca" }));
    const page = await harness.browserLogin(url, "alice", "alice-password").then(
      (result) => result.status,
      (error: Error) => error.message,
    );
    // The confirm step needs the IdP's authorization endpoint: an error page, no redirect.
    assertEquals(page, "Confirm answered 502");
    const line = logs.lines.find((entry) => entry.text.includes("IdP request failed"));
    assert(line !== undefined, logs.lines.map((entry) => entry.text).join("\n"));
    assertStringIncludes(line.text, "set oidc.tls_ca_file to the PEM file of the CA");
  } finally {
    logs.stop();
    await harness.stop();
  }
});
