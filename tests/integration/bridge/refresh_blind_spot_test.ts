/**
 * The start-up warning of an IdP that leaves refresh checks blind (README, "no userinfo
 * endpoint"): said for the periodic re-check as for the check at REAUTH, once the IdP's discovery
 * shows no userinfo endpoint.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { serviceConfig } from "../../support/bridge_harness.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { freePort } from "../../support/free_port.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import type { RunningService } from "../../../src/cli.ts";
import { startDaemon } from "../../../src/daemon.ts";

Deno.test("recheck_interval alone, at an IdP without a userinfo endpoint, is warned about at start-up (README)", async () => {
  let release!: () => void;
  const logsOn = new Promise<void>((resolve) => (release = resolve));
  let idp: Deno.HttpServer<Deno.NetAddr> | undefined;
  let openvpn: FakeManagementServer | undefined;
  let dir: string | undefined;
  let service: RunningService | undefined;
  let logs: ReturnType<typeof captureLogs> | undefined;
  try {
    // Discovery without `userinfo_endpoint`, answered once the test listens to the log.
    idp = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
      await logsOn;
      const issuer = `http://127.0.0.1:${idp!.addr.port}`;
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
    });
    openvpn = await FakeManagementServer.start({ transport: "tcp" });
    dir = mkdtempSync(join(tmpdir(), "blind-spot-test-"));
    const config = serviceConfig({
      management: openvpn.address.kind === "tcp" ? openvpn.address.port : 0,
      listen: await freePort(),
      issuer: `http://127.0.0.1:${idp.addr.port}`,
      sections: `
[authorization]
allowed_groups = ["/vpn-users"]

[sessions]
backend = "memory"
reauth_check = "none"
recheck_interval = "10m"

[control]
socket = "${join(dir, "control.sock")}"

[log]
level = "error"
`,
    });
    service = await startDaemon(config);
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
  } finally {
    release();
    logs?.stop();
    await service?.stop();
    await idp?.shutdown();
    await openvpn?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
});
