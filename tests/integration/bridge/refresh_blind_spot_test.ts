/**
 * The start-up warning of an IdP that leaves refresh checks blind (README, "no userinfo
 * endpoint"): said for the periodic re-check as for the check at REAUTH, once the IdP's discovery
 * shows no userinfo endpoint.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { withDaemonAgainstIdp } from "../../support/daemon_against_idp.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

Deno.test("recheck_interval alone, at an IdP without a userinfo endpoint, is warned about at start-up (README)", async () => {
  let release!: () => void;
  const logsOn = new Promise<void>((resolve) => (release = resolve));
  let logs: ReturnType<typeof captureLogs> | undefined;
  try {
    await withDaemonAgainstIdp({
      beforeCleanup: () => {
        release();
        logs?.stop();
      },
      // Discovery without `userinfo_endpoint`, answered once the test listens to the log.
      idp: async (request, issuer) => {
        await logsOn;
        if (new URL(request.url).pathname !== "/.well-known/openid-configuration") {
          return new Response("not found", { status: 404 });
        }
        return Response.json({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
        });
      },
      sections: `
[authorization]
allowed_groups = ["/vpn-users"]

[sessions]
backend = "memory"
reauth_check = "none"
recheck_interval = "10m"

[log]
level = "error"
`,
    }, async () => {
      // After the start, which sets up the bridge's own logging.
      logs = captureLogs();
      const lines = logs.lines;
      release();
      const warning = await pollUntil(
        "the start-up warning",
        () => lines.find((line) => line.text.includes("no userinfo endpoint")),
        5_000,
      );
      assertEquals(warning.level, "warning");
      assertStringIncludes(warning.text, "sessions.recheck_interval but the identity provider");
    });
  } finally {
    logs?.stop();
  }
});
