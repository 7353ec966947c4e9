/**
 * Metrics and reload with the real bridge, the test IdP and a scripted management server:
 * /metrics shows exactly what happened; a reload changes the policy without touching the
 * management link or any session, and a broken config is refused.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { createServer } from "node:net";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { freePort } from "../../support/free_port.ts";
import { makeServerCertificate } from "../../support/certificates.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../../src/cli.ts";
import { startDaemon } from "../../../src/daemon.ts";
import { BACKCHANNEL_LOGOUT_PATH } from "../../../src/http/routes.ts";
import { generateKeyPair, SignJWT } from "jose";

async function signIn(h: BridgeHarness, cid: number, user: string): Promise<string> {
  const url = await h.connect(cid, { common_name: user, session_id: `s-${user}-${cid}` });
  const mark = h.openvpn.received.length;
  await h.browserLogin(url, user, `${user}-password`);
  return await h.waitForCommand(
    mark,
    // A refused sign-in is halted (refusal.ts).
    (line) => line.startsWith(`client-auth ${cid} 1`) || line.startsWith(`client-kill ${cid} `),
  );
}

async function scrape(port: number): Promise<Map<string, string>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const series = new Map<string, string>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), line.slice(space + 1));
  }
  return series;
}

Deno.test("/metrics counts a login, a denial, a REAUTH and a management drop exactly", async () => {
  const port = await freePort();
  const h = await BridgeHarness.start({ extraToml: `[metrics]\nlisten = "127.0.0.1:${port}"\n` });
  const log = captureStderr();
  try {
    assertEquals(await signIn(h, 0, "alice"), "client-auth 0 1");
    assertStringIncludes(await signIn(h, 1, "bob"), 'client-kill 1 "HALT,You are not in a group');
    let mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 0, 2, clientEnv({ session_id: "s-alice-0" }));
    await h.waitForCommand(mark, (line) => line === "client-auth-nt 0 2");

    mark = h.openvpn.received.length;
    await h.openvpn.closeClient();
    await h.waitForCommand(mark, (line) => line === "status 3");

    const m = await scrape(port);
    const server = 'server="default"';
    const expected: Record<string, string> = {
      [`openvpn_auth_oidc_logins_total{${server},result="admitted"}`]: "1",
      [`openvpn_auth_oidc_logins_total{${server},result="denied"}`]: "1",
      [`openvpn_auth_oidc_logins_total{${server},result="error"}`]: "0",
      [`openvpn_auth_oidc_logins_total{${server},result="timeout"}`]: "0",
      [`openvpn_auth_oidc_client_events_total{${server},event="connect",answer="pending"}`]: "2",
      [`openvpn_auth_oidc_client_events_total{${server},event="connect",answer="deny"}`]: "0",
      [`openvpn_auth_oidc_client_events_total{${server},event="reauth",answer="auth_nt"}`]: "1",
      [`openvpn_auth_oidc_client_events_total{${server},event="reauth",answer="deny"}`]: "0",
      [`openvpn_auth_oidc_denials_total{reason="group"}`]: "1",
      [`openvpn_auth_oidc_management_reconnects_total{${server}}`]: "1",
      [`openvpn_auth_oidc_management_up{${server}}`]: "1",
      [`openvpn_auth_oidc_sessions{${server}}`]: "1",
      [`openvpn_auth_oidc_pending_logins{${server}}`]: "0",
      [`openvpn_auth_oidc_management_command_duration_seconds_count{command="client-pending-auth"}`]:
        "2",
      [`openvpn_auth_oidc_management_command_duration_seconds_count{command="client-auth"}`]: "1",
      [`openvpn_auth_oidc_management_command_duration_seconds_count{command="client-auth-nt"}`]:
        "1",
      [`openvpn_auth_oidc_management_command_duration_seconds_count{command="client-kill"}`]: "1",
      [`openvpn_auth_oidc_idp_request_duration_seconds_count{endpoint="token"}`]: "2",
    };
    for (const [series, value] of Object.entries(expected)) {
      assertEquals(m.get(series), value, series);
    }
    const denials = [...m].filter(([k, v]) =>
      k.startsWith("openvpn_auth_oidc_denials_total") && v !== "0"
    );
    assertEquals(denials.length, 1);
    assert(
      Number(m.get(`openvpn_auth_oidc_idp_request_duration_seconds_count{endpoint="discovery"}`)) >=
        1,
    );
    for (const key of m.keys()) {
      assert(!/alice|bob|127\.0\.0\.1|s-alice/.test(key), `user data in a label: ${key}`);
    }
    const audit = log.lines().filter((line) => line.includes("openvpn-auth-oidc·audit:"));
    assertEquals(audit.length, 2, audit.join("\n"));
    assertStringIncludes(audit[0]!, 'admitted "alice"');
    assertStringIncludes(audit[0]!, 'certificate "alice", from "127.0.0.1"');
    assertStringIncludes(audit[1]!, "denied");
    assertStringIncludes(audit[1]!, 'cid 1, certificate "bob", from "127.0.0.1": "group"');
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("a back-channel logout token signed with an unknown key: the keys are read on the IdP client's path (counted, like its own reads)", async () => {
  const port = await freePort();
  const h = await BridgeHarness.start({ extraToml: `[metrics]\nlisten = "127.0.0.1:${port}"\n` });
  const log = captureStderr();
  try {
    const jwks = `openvpn_auth_oidc_idp_request_duration_seconds_count{endpoint="jwks"}`;
    assertEquals((await scrape(port)).get(jwks), "0");
    const forger = await generateKeyPair("RS256");
    const token = await new SignJWT({
      sid: "sso-1",
      jti: crypto.randomUUID(),
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    })
      .setProtectedHeader({ alg: "RS256", typ: "logout+jwt", kid: "not-the-idps" })
      .setIssuer(h.idp.issuer)
      .setAudience("openvpn")
      .setIssuedAt()
      .sign(forger.privateKey);
    const response = await fetch(`${h.baseUrl}${BACKCHANNEL_LOGOUT_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ logout_token: token }),
    });
    assertEquals(response.status, 400);
    assertEquals((await response.json()).error, "invalid_request");
    assertEquals((await scrape(port)).get(jwks), "1");
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("reload that makes the policy read a claim sessions did not keep warns that they will be denied at their next renegotiation", async () => {
  const h = await BridgeHarness.start();
  const log = captureStderr();
  try {
    const next = h.toml
      .replace('level = "error"', 'level = "warning"')
      .replace(
        "[authorization]\n",
        "[authorization]\nrequired_claims = { email_verified = true }\n",
      );
    await h.reload(next);
    const warning = log.lines().find((line) => line.includes('now reads "email_verified"'));
    assert(warning, log.lines().join("\n"));
    assertStringIncludes(warning, 'sessions.reauth_check = "refresh"');
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("reload to a metrics address that cannot be bound is refused whole: the old endpoint, policy and log settings stay", async () => {
  const port = await freePort();
  const h = await BridgeHarness.start({ extraToml: `[metrics]\nlisten = "127.0.0.1:${port}"\n` });
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const busy = (taken.address() as { port: number }).port;
  try {
    const next = h.toml
      .replace(`listen = "127.0.0.1:${port}"`, `listen = "127.0.0.1:${busy}"`)
      .replace('allowed_groups = ["/vpn-users"]', 'allowed_groups = ["/other"]');
    await assertRejects(() => h.reload(next));
    // Still served where it was, and the old policy still admits alice.
    assertEquals(
      (await scrape(port)).get(`openvpn_auth_oidc_management_up{server="default"}`),
      "1",
    );
    assertEquals(await signIn(h, 0, "alice"), "client-auth 0 1");
    // A reload that can be carried out afterwards is.
    const moved = await freePort();
    await h.reload(h.toml.replace(`listen = "127.0.0.1:${port}"`, `listen = "127.0.0.1:${moved}"`));
    assertEquals(
      (await scrape(moved)).get(`openvpn_auth_oidc_management_up{server="default"}`),
      "1",
    );
  } finally {
    taken.close();
    await h.stop();
  }
});

Deno.test("SIGHUP reload: a policy change applies to the next login, the link and sessions stay; a broken file is refused", async () => {
  const h = await BridgeHarness.start();
  const path = join(h.dir, "server.toml");
  let reload: (() => Promise<void>) | undefined;
  let shutdown: ((signal: string) => void) | undefined;
  let running: Promise<number> | undefined;
  let exit: unknown;
  try {
    await h.stopBridge();
    writeFileSync(path, h.toml);
    const mark = h.openvpn.received.length;
    running = runCli(["--config", path], {
      out: () => {},
      err: () => {},
      readTextFile: (file) => readFileSync(file, "utf8"),
      env: {},
      startService: startDaemon,
      onShutdownSignal: (handler) => (shutdown = handler),
      onReloadSignal: (handler) => (reload = handler),
    });
    await h.waitForCommand(mark, (line) => line === "status 3");
    const connections = h.openvpn.connections;
    assertEquals(await signIn(h, 0, "alice"), "client-auth 0 1");

    // A file that fails validation is refused: the old policy (vpn-users) still admits alice.
    writeFileSync(path, h.toml.replace('allowed_groups = ["/vpn-users"]', "allowed_groups = 7"));
    await reload!();
    assertEquals(await signIn(h, 1, "alice"), "client-auth 1 1");

    // Only group /other from now on: the next decision about alice uses it (her REAUTH is
    // denied, as is a new login of hers); the link is not touched.
    writeFileSync(
      path,
      h.toml.replace('allowed_groups = ["/vpn-users"]', 'allowed_groups = ["/other"]'),
    );
    await reload!();
    let before = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 0, 2, clientEnv({ session_id: "s-alice-0" }));
    await h.waitForCommand(before, (line) => line.startsWith('client-deny 0 2 "group"'));
    assertStringIncludes(
      await signIn(h, 2, "alice"),
      'client-kill 2 "HALT,You are not in a group',
    );
    assertEquals(h.openvpn.connections, connections);

    // A key that cannot change live keeps its old value: still the same link.
    writeFileSync(
      path,
      h.toml.replace(/management = "[^"]+"/, 'management = "tcp://127.0.0.1:1"'),
    );
    await reload!();
    before = h.openvpn.received.length;
    h.openvpn.sendClientBlock("REAUTH", 1, 2, clientEnv({ session_id: "s-alice-1" }));
    await h.waitForCommand(before, (line) => line === "client-auth-nt 1 2");
    assertEquals(h.openvpn.connections, connections);
  } finally {
    shutdown?.("SIGTERM");
    // Checked once everything is stopped, and only when the test body passed: a failed check
    // here would leak the harness and hide the body's error.
    exit = await running?.catch((error: unknown) => error);
    await h.stop();
  }
  assertEquals(exit, 0, "the exit code of the CLI after SIGTERM");
});

async function healthOver(url: string, caCert: string): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [caCert] });
  try {
    const response = await fetch(`${url}/healthz`, { client });
    return `${response.status} ${await response.text()}`;
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  } finally {
    client.close();
  }
}

Deno.test("reload: the TLS certificate is read again and served without a restart", async () => {
  const h = await BridgeHarness.start();
  try {
    const a = await makeServerCertificate(h.dir, "127.0.0.1", "a");
    const b = await makeServerCertificate(h.dir, "127.0.0.1", "b");
    const certFile = join(h.dir, "tls.pem");
    const keyFile = join(h.dir, "tls.key");
    writeFileSync(certFile, a.cert);
    writeFileSync(keyFile, a.key);
    const withTls = h.toml.replace(
      "[http]\n",
      `[http]\ntls_cert_file = "${certFile}"\ntls_key_file = "${keyFile}"\n`,
    );
    const connections = h.openvpn.connections;
    assertEquals((await h.reload(withTls)).kept, []);
    const https = h.baseUrl.replace("http:", "https:");
    assertEquals(await healthOver(https, a.ca), "200 ok");

    // Renewed in place (same paths, as certbot does): the next reload serves the new one.
    writeFileSync(certFile, b.cert);
    writeFileSync(keyFile, b.key);
    assertEquals((await h.reload(withTls)).kept, []);
    assertEquals(await healthOver(https, b.ca), "200 ok");
    assertStringIncludes(await healthOver(https, a.ca), "failed");
    assertEquals(h.openvpn.connections, connections);

    // A key caught mid-copy (a PEM cut short) is refused by the reload; the listener in use
    // goes on with the certificate it has.
    writeFileSync(certFile, a.cert);
    writeFileSync(keyFile, a.key.slice(0, 100));
    await assertRejects(() => h.reload(withTls));
    assertEquals(await healthOver(https, b.ca), "200 ok");
  } finally {
    await h.stop();
  }
});

Deno.test("reload: the metrics listener is turned on, moved and off without a restart", async () => {
  const h = await BridgeHarness.start();
  const reachable = async (port: number) => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      await response.body?.cancel();
      return response.status;
    } catch {
      return "refused";
    }
  };
  try {
    const [first, second] = [await freePort(), await freePort()];
    assertEquals(await reachable(first), "refused");
    await h.reload(`${h.toml}\n[metrics]\nlisten = "127.0.0.1:${first}"\n`);
    assertEquals(await reachable(first), 200);
    await h.reload(`${h.toml}\n[metrics]\nlisten = "127.0.0.1:${second}"\n`);
    assertEquals(await reachable(first), "refused");
    assertEquals(await reachable(second), 200);
    await h.reload(h.toml);
    assertEquals(await reachable(second), "refused");
  } finally {
    await h.stop();
  }
});

Deno.test("reload that changes restart-only keys names each, quoted, in a warning (README: named in a warning): Reload: these changes cannot be made while running and wait for a restart, under the [log] level the same reload sets", async () => {
  const h = await BridgeHarness.start();
  const log = captureStderr();
  try {
    // One reload both lowers the level from error to warning and changes the key.
    const next = h.toml.replace('level = "error"', 'level = "warning"')
      .replace('client_id = "openvpn"', 'client_id = "openvpn-next"')
      .replace("sessions.sqlite", "sessions-next.sqlite");
    assertEquals(await h.reload(next), { kept: ["oidc.client_id", "sessions.path"] });
    const warning = log.lines().find((line) => line.includes("cannot be made while running"));
    assert(warning, `no warning names the kept key:\n${log.lines().join("\n")}`);
    // Not "keeping the old values": a removed server's policy follows the new file (mergeReload).
    // Each key quoted on its own, not the list as one name.
    assertStringIncludes(
      warning,
      "Reload: these changes cannot be made while running and wait for a restart: " +
        '"oidc.client_id", "sessions.path"; the rest of the new configuration is in force',
    );
  } finally {
    log.restore();
    await h.stop();
  }
});
