/**
 * The admin commands against the running binary (dist/openvpn-auth-oidc from make build-bun):
 * a real sign-in at the test IdP through a scripted OpenVPN management server, then
 * `logins list`, `sessions list --json`, `sessions revoke` (the kill reaches OpenVPN), the
 * socket's permissions, bad arguments, and the service not running.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { bridgeLoginOverHttp } from "../support/bridge_browser.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import { FakeManagementServer } from "../support/fake_management_server.ts";
import { freePort } from "../support/free_port.ts";
import { startIdpForBridges } from "../support/idp/mod.ts";
import {
  fileStoreToml,
  killProcess,
  localConfigToml,
  runBinary,
  spawnBinary,
} from "../support/service_process.ts";

const SECRET = "binary-control-secret";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

Deno.test("admin commands against the running binary: list, revoke (client-kill reaches OpenVPN), permissions, bad arguments, not running", async () => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const idp = await startIdpForBridges([baseUrl], SECRET);
  const openvpn = await FakeManagementServer.start({ transport: "tcp" });
  const dir = mkdtempSync(join(tmpdir(), "binary-control-"));
  const socket = join(dir, "run", "control.sock");
  const config = join(dir, "server.toml");
  const address = openvpn.address;
  writeFileSync(
    config,
    localConfigToml({
      dir,
      port,
      management: `tcp://127.0.0.1:${address.kind === "tcp" ? address.port : 0}`,
      issuer: idp.issuer,
      clientSecret: SECRET,
      rest: `[authorization]
allowed_groups = ["/vpn-users"]
${fileStoreToml(dir, socket)}`,
    }),
  );
  const child = spawnBinary(config);
  const admin = (...args: string[]) => runBinary([...args, "--config", config]);
  try {
    await openvpn.waitForLine("status 3", 15_000);

    // A client connects; its sign-in is pending.
    const mark = openvpn.received.length;
    openvpn.sendClientBlock(
      "CONNECT",
      0,
      1,
      clientEnv({ session_id: "s-alice", common_name: "alice-laptop", untrusted_ip: "127.0.0.1" }),
    );
    const pending = await openvpn.waitForLine((l) => l.startsWith("client-pending-auth 0 1 "));
    const logins = await admin("logins", "list", "--json");
    assertEquals(logins.code, 0, logins.stderr);
    const loginRows = JSON.parse(logins.stdout);
    assertEquals(loginRows.length, 1);
    assertEquals(
      Object.keys(loginRows[0]).sort(),
      ["ageSec", "cid", "clientIp", "commonName", "createdAt", "server"],
    );
    assertEquals(loginRows[0].cid, 0);
    assertEquals(loginRows[0].commonName, "alice-laptop");
    assert(!logins.stdout.includes(/login\/([^"]+)/.exec(pending)![1]!), "login id leaked");

    // She signs in at the IdP.
    const url = /"WEB_AUTH::([^"]+)"/.exec(pending)![1]!;
    const page = await bridgeLoginOverHttp(url, baseUrl, "alice", "alice-password");
    assertEquals(page.status, 200);
    await openvpn.waitForLine("client-auth 0 1");
    assert(openvpn.received.indexOf("client-auth 0 1") > mark);

    // The socket: a socket, mode 0660.
    const stat = statSync(socket);
    assert(stat.isSocket());
    assertEquals(stat.mode & 0o777, 0o660);

    const listed = await admin("sessions", "list", "--json");
    assertEquals(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout);
    assertEquals(rows.length, 1);
    const row = rows[0];
    for (
      const key of [
        "sessionId",
        "username",
        "subject",
        "server",
        "cid",
        "commonName",
        "createdAt",
        "lastAuthAt",
        "expiresAt",
      ]
    ) assert(key in row, `missing ${key}`);
    assertEquals(row.sessionId, "s-alice");
    assertEquals(row.username, "alice");
    assertEquals(row.subject, idp.users.get("alice")!.sub);
    assertEquals(row.server, "default");
    assertEquals(row.cid, 0);
    assertEquals(row.commonName, "alice-laptop");
    assertEquals(row.clientIp, "127.0.0.1");
    for (const key of ["createdAt", "lastAuthAt", "expiresAt"]) assertMatch(row[key], ISO);

    const table = await admin("sessions", "list");
    assertEquals(table.code, 0);
    assertMatch(
      table.stdout.split("\n")[1]!,
      /^alice\s+default\s+0\s+alice-laptop\s+127\.0\.0\.1\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+s-alice$/,
    );
    const wide = await admin("sessions", "list", "--wide");
    assertEquals(wide.code, 0);
    assertEquals(
      wide.stdout.split("\n")[1]!.split(/\s+/),
      [
        "alice",
        row.subject,
        "default",
        "0",
        "alice-laptop",
        "127.0.0.1",
        row.createdAt,
        row.lastAuthAt,
        row.expiresAt,
        "s-alice",
      ],
    );

    // Bad arguments: exit 2, nothing asked of the service.
    for (const args of [["sessions", "revoke"], ["sessions", "list", "--bogus"], ["logins"]]) {
      const bad = await admin(...args);
      assertEquals(bad.code, 2, args.join(" "));
      assertStringIncludes(bad.stderr, "Usage");
    }

    // Revoke: the kill reaches OpenVPN, the session is gone.
    const before = openvpn.received.length;
    const revoked = await admin("sessions", "revoke", "--user", "alice");
    assertEquals(revoked.code, 0, revoked.stderr);
    assertEquals(revoked.stdout, "1 session(s) ended\n");
    // With its text: the client shows it and comes back to a browser sign-in (RESTART).
    await openvpn.waitForLine((line) =>
      line === 'client-kill 0 "RESTART,An administrator ended your VPN session"' &&
      openvpn.received.lastIndexOf(line) >= before
    );
    assertEquals(JSON.parse((await admin("sessions", "list", "--json")).stdout), []);
    const again = await admin("sessions", "revoke", "s-alice");
    assertEquals([again.code, again.stdout], [0, "0 session(s) ended\n"]);
    assertStringIncludes(again.stderr, 'no session matched session id "s-alice"');

    // Stopped: the socket is gone and the commands say the service is not running.
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    const down = await admin("sessions", "list");
    assertEquals(down.code, 1);
    assertStringIncludes(down.stderr, "not running");
  } finally {
    await killProcess(child);
    await openvpn.stop();
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
