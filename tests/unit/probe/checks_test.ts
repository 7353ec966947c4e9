import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "../../support/assert.ts";
import {
  authMethodListed,
  clientAuthCheck,
  discoveryCheck,
  formatResults,
  jwksCheck,
  listenHeldByService,
  managementCheck,
  redirectCheck,
} from "../../../src/probe/checks.ts";

const REDIRECT = "https://vpn.example.com/oauth2/callback";
const page = (text: string) => `<!DOCTYPE html><html><body><h1>We are sorry...</h1><p>${text}</p>`;

Deno.test("redirectCheck: Keycloak's and oidc-provider's bad-redirect pages fail with the fix", () => {
  for (
    const body of [
      page("Invalid parameter: redirect_uri"), // Keycloak
      page("redirect_uri did not match any of the client's registered redirect_uris"), // oidc-provider
    ]
  ) {
    const result = redirectCheck(REDIRECT, "openvpn", {
      status: 400,
      location: undefined,
      bodyStart: body,
    });
    assertEquals(result.ok, false);
    assertEquals(result.detail, "the redirect URI is not registered (HTTP 400)");
    assertMatch(result.fix!, /^Register https:\/\/vpn\.example\.com\/oauth2\/callback as a valid/);
  }
});

Deno.test("redirectCheck: an unknown client_id is named as such", () => {
  const result = redirectCheck(REDIRECT, "openvpn", {
    status: 400,
    location: undefined,
    bodyStart: page("Client not found."),
  });
  assertEquals([result.ok, result.fix], [
    false,
    "Set oidc.client_id to the client's id at the IdP.",
  ]);
});

Deno.test("redirectCheck: a login page or a redirect to it passes; an error sent back to the URI fails", () => {
  const answer = (status: number, location?: string) =>
    redirectCheck(REDIRECT, "openvpn", { status, location, bodyStart: "" });
  assertEquals(answer(200).ok, true);
  assertEquals(answer(303, "/realms/vpn/interaction/abc").ok, true);
  const refused = answer(302, `${REDIRECT}?error=unauthorized_client&state=x`);
  assertEquals(refused.ok, false);
  assertMatch(
    refused.detail,
    /is registered, but the IdP refused the request: unauthorized_client/,
  );
  assertEquals(answer(500).ok, false);
  assertEquals(redirectCheck(REDIRECT, "openvpn", { failed: "ECONNREFUSED" }).ok, false);
});

Deno.test("managementCheck: each failure gets its own fix; the one-client rule only when the service runs", () => {
  const target = {
    server: "default",
    address: "unix:///run/openvpn/server-management.sock",
    hasPassword: false,
    serviceRunning: false,
  };
  const fixFor = (code: string, message: string, running = false) =>
    managementCheck({ ...target, serviceRunning: running }, { kind: "failed", code, message }).fix!;
  assertMatch(
    fixFor("password-rejected", "Management password rejected"),
    /openvpn\.password_file/,
  );
  assertMatch(fixFor("password-required", "asks for a password"), /set openvpn\.password_file/);
  assertMatch(
    fixFor("socket", "connect EACCES /run/x"),
    /management-client-group openvpn-auth-oidc/,
  );
  assertMatch(fixFor("socket", "connect ENOENT /run/x"), /No socket there/);
  assert(!fixFor("socket", "connect ENOENT /run/x").includes("AppArmor"));
  assert(!fixFor("socket", "connect ECONNREFUSED").includes("one management client"));
  assertMatch(fixFor("socket", "connect ECONNREFUSED", true), /one management client at a time/);
  const ok = managementCheck({ ...target, hasPassword: true }, {
    kind: "connected",
    managementVersion: 5,
    versionLines: ["OpenVPN Version: OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)]", "END"],
  });
  // Debian's 2.6.14 lacks 2.6.21's fix: a warning (the probe still passes), and advice that
  // allows for a distribution's backport.
  assertEquals([ok.ok, ok.warning], [true, true]);
  assertMatch(
    ok.detail,
    new RegExp(
      `^${target.address}: OpenVPN 2\\.6\\.14, management version 5, password accepted; ` +
        "without fixes released later, .*CVE-2026-13122",
    ),
  );
  assertMatch(ok.fix!, /^Update OpenVPN to 2\.6\.21 or 2\.7\.5 or later\..*backported/);
  const current = managementCheck(target, {
    kind: "connected",
    managementVersion: 5,
    versionLines: ["OpenVPN Version: OpenVPN 2.6.22 x86_64-pc-linux-gnu [SSL (OpenSSL)]", "END"],
  });
  assertEquals(current, {
    check: "management default",
    ok: true,
    detail: `${target.address}: OpenVPN 2.6.22, management version 5`,
  });
});

Deno.test("managementCheck: OpenVPN before 2.5 (management version 1 or 2) fails: it cannot hold a client for browser sign-in", () => {
  const target = {
    server: "default",
    address: "unix:///run/openvpn/server-management.sock",
    hasPassword: false,
    serviceRunning: false,
  };
  const check = (release: string, managementVersion: number) =>
    managementCheck(target, {
      kind: "connected",
      managementVersion,
      versionLines: [`OpenVPN Version: OpenVPN ${release} x86_64-redhat-linux-gnu [SSL]`, "END"],
    });
  for (const [release, version] of [["2.4.12", 1], ["2.5_beta1", 2]] as const) {
    assertEquals(check(release, version), {
      check: "management default",
      ok: false,
      detail: `${target.address}: OpenVPN ${release}, management version ${version}: browser ` +
        "sign-in needs OpenVPN 2.5 or later (management version 3); 2.6 recommended",
      fix: "Update OpenVPN to 2.6.21 or 2.7.5 or later.",
    });
  }
  // 2.5 passes this check: it lacks later fixes, a warning.
  assertEquals([check("2.5.9", 3).ok, check("2.5.9", 3).warning], [true, true]);
});

Deno.test("formatResults: one line per check, failures with their fix on the same line", () => {
  const text = formatResults([
    { check: "config", ok: true, detail: "valid" },
    { check: "base url", ok: false, detail: "no answer", fix: "Open the firewall." },
  ]);
  assertEquals(text, "ok    config    valid\nFAIL  base url  no answer. Fix: Open the firewall.\n");
});

Deno.test("formatResults: what a hostile IdP sends prints escaped, one line per result", () => {
  const forged = "\nok    idp keys  all fine";
  const results = [
    discoveryCheck("https://idp.example.com", {
      kind: "issuer-mismatch",
      actual: `https://evil.example\u001b]0;owned\u0007${forged}`,
    }, { useUserinfo: false, revokeRefreshTokens: true }),
    jwksCheck("https://idp.example.com/jwks", {
      kind: "ok",
      keys: [{ kty: "RSA", alg: "RS256\u009b2J\u001b[31m\u007f" }],
    }),
    redirectCheck(REDIRECT, "openvpn", {
      status: 302,
      location: `${REDIRECT}?error=denied%0Aok%20%20forged%1b%5B2J%C2%9B1m&state=x`,
      bodyStart: "",
    }),
  ];
  const text = formatResults(results);
  const lines = text.split("\n");
  assertEquals(lines.pop(), "");
  assertEquals(lines.length, 3);
  assertEquals(lines.map((line) => line.slice(0, 4)), ["FAIL", "ok  ", "FAIL"]);
  // deno-lint-ignore no-control-regex
  assertNotMatch(lines.join(""), /[\u0000-\u001f\u007f-\u009f]/);
  assertStringIncludes(lines[0]!, "names the issuer https://evil.example\\x1b]0;owned\\x07\\x0aok");
  assertStringIncludes(lines[0]!, 'Fix: Set oidc.issuer = "https://evil.example\\x1b]0;owned');
  assertStringIncludes(lines[1]!, "(RS256\\x9b2J\\x1b[31m\\x7f)");
  assertStringIncludes(lines[2]!, "refused the request: denied\\x0aok  forged\\x1b[2J\\x9b1m");
});

Deno.test("discoveryCheck: another issuer is offered as oidc.issuer, a multi-tenant template (Entra ID's {tenantid}) is not", () => {
  const mismatch = (actual: string) =>
    discoveryCheck("https://login.microsoftonline.com/common/v2.0", {
      kind: "issuer-mismatch",
      actual,
    }, { useUserinfo: false, revokeRefreshTokens: true });
  const plain = mismatch("https://kc.example.com/realms/vpn");
  assertEquals(
    plain.fix,
    'Set oidc.issuer = "https://kc.example.com/realms/vpn" (tokens carry that issuer).',
  );
  const template = mismatch("https://login.microsoftonline.com/{tenantid}/v2.0");
  assertEquals(template.ok, false);
  assertStringIncludes(template.fix!, "multi-tenant endpoint");
  assertStringIncludes(template.fix!, "https://login.microsoftonline.com/<tenant-id>/v2.0");
  assert(!template.fix!.includes("{tenantid}"), template.fix);
});

Deno.test("discoveryCheck: an IdP certificate of a CA this host does not trust fails with oidc.tls_ca_file as the fix, not the network", () => {
  const untrusted = (caFile: string | undefined) =>
    discoveryCheck("https://kc.corp.example/realms/vpn", {
      kind: "untrusted-certificate",
      message: "unable to verify the first certificate",
      caFile,
    }, { useUserinfo: false, revokeRefreshTokens: true });
  const unset = untrusted(undefined);
  assertEquals(unset.ok, false);
  assertEquals(
    unset.detail,
    "https://kc.corp.example/realms/vpn/.well-known/openid-configuration: unable to verify the " +
      "first certificate",
  );
  assertMatch(
    unset.fix!,
    /^The IdP's certificate is not signed by a CA this host trusts: set oidc\.tls_ca_file/,
  );
  assert(!unset.fix!.includes("firewall"), unset.fix);
  const wrong = untrusted("/etc/openvpn-auth-oidc/idp-ca.pem");
  assertMatch(
    wrong.fix!,
    /^oidc\.tls_ca_file \(\/etc\/openvpn-auth-oidc\/idp-ca\.pem\) holds no CA the IdP's certificate chains to/,
  );
});

Deno.test("clientAuthCheck: invalid_grant for the made-up code passes; refused credentials, other refusals and outages fail", () => {
  const answered = (status: number, error?: string, description?: string) =>
    clientAuthCheck("client_secret_basic", { kind: "answered", status, error, description });
  const accepted = answered(400, "invalid_grant", "Code not valid");
  assertEquals(accepted.ok, true);
  assertMatch(accepted.detail, /^client credentials accepted \(client_secret_basic/);
  for (
    const refused of [
      answered(401, "unauthorized_client", "Invalid client or Invalid client credentials"),
      answered(400, "invalid_client"),
      answered(401),
    ]
  ) {
    assertEquals(refused.ok, false);
    assertMatch(refused.detail, /^the token endpoint refused the client \(client_secret_basic\)/);
    assertMatch(refused.fix!, /oidc\.client_secret .*oidc\.client_auth_method .*Credentials tab/);
  }
  assertNotMatch(answered(400, "invalid_client").fix!, /signed JWT/);
  assertEquals(answered(400, "invalid_request").ok, false);
  assertEquals(answered(200).ok, false);
  const down = clientAuthCheck("client_secret_basic", {
    kind: "failed",
    message: "IdP answered HTTP 503",
  });
  assertEquals([down.ok, down.fix], [false, "Check that the IdP is up."]);
});

Deno.test("clientAuthCheck: a private_key_jwt client refused is told why an IdP refuses a signed JWT (clock, key, audience, algorithm)", () => {
  const refused = clientAuthCheck("private_key_jwt", {
    kind: "answered",
    status: 400,
    error: "invalid_client",
    description: "Token was issued in the future",
  });
  assertEquals(refused.ok, false);
  assertStringIncludes(refused.detail, "(Token was issued in the future)");
  assertStringIncludes(refused.fix!, "oidc.private_key for private_key_jwt");
  assertMatch(
    refused.fix!,
    /With private_key_jwt, the IdP also refuses a signed JWT when this host's clock is off from its own .*holds another key for the client .*\(oidc\.client_assertion_audience\) or algorithm \(oidc\.private_key_alg\)\.$/,
  );
});

Deno.test("discoveryCheck: any back-channel endpoint the service would refuse (plain http, not a URL) fails; a loopback http issuer's may be plain http to a loopback host only", () => {
  const endpoints = (base: string) => ({
    authorization_endpoint: `${base}/auth`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/certs`,
  });
  const check = (issuer: string, extra: Record<string, string>, revokeRefreshTokens = true) =>
    discoveryCheck(issuer, {
      kind: "ok",
      issuer,
      endpoints: { ...endpoints(issuer), ...extra },
    }, { useUserinfo: false, revokeRefreshTokens });
  const https = "https://sso.example.com/realms/vpn";
  assertEquals(check(https, {}).ok, true);
  // The authorization endpoint is the browser's: plain http there is not the service's to refuse.
  assertEquals(check(https, { authorization_endpoint: "http://sso.example.com/auth" }).ok, true);
  for (
    const [name, url, shown] of [
      ["revocation_endpoint", "http://sso.example.com/revoke", "http://sso.example.com"],
      ["userinfo_endpoint", "http://sso.example.com/userinfo", "http://sso.example.com"],
      ["token_endpoint", "not a url", "(not a URL)"],
    ]
  ) {
    const refused = check(https, { [name!]: url! });
    assertEquals(refused.ok, false);
    assertStringIncludes(refused.detail, `(it calls https only): ${name} ${shown}`);
  }
  // With oidc.revoke_refresh_tokens off the service never calls the revocation endpoint.
  assertEquals(
    check(https, { revocation_endpoint: "http://sso.example.com/revoke" }, false).ok,
    true,
  );
  assertEquals(check(https, { token_endpoint: "http://sso.example.com/token" }, false).ok, false);
  const loopback = "http://127.0.0.1:8080/realms/vpn";
  assertEquals(check(loopback, { revocation_endpoint: "http://127.0.0.1:8080/revoke" }).ok, true);
  assertEquals(check(loopback, { jwks_uri: "http://[::1]:8080/certs" }).ok, true);
  assertEquals(check(loopback, { token_endpoint: "https://sso.example.com/token" }).ok, true);
  // Plain http to another host crosses a network: the client's credentials and the tokens would.
  const elsewhere = check(loopback, {
    token_endpoint: "http://sso.example.com:8080/token",
    jwks_uri: "http://127.0.0.1.example.com/certs",
  });
  assertEquals(elsewhere.ok, false);
  assertStringIncludes(
    elsewhere.detail,
    "refuses to call (it calls https, or plain http to a loopback host): token_endpoint " +
      "http://sso.example.com:8080, jwks_uri http://127.0.0.1.example.com",
  );
  assertMatch(
    elsewhere.fix!,
    /https address .*, or, with this loopback http issuer, a loopback one/,
  );
});

Deno.test("authMethodListed: a listed method, an IdP without a list and none (Keycloak does not list it) pass", () => {
  assertEquals(authMethodListed("client_secret_basic", ["client_secret_basic"]), true);
  assertEquals(authMethodListed("client_secret_post", ["client_secret_basic"]), false);
  assertEquals(authMethodListed("private_key_jwt", undefined), true);
  assertEquals(authMethodListed("none", ["client_secret_basic", "private_key_jwt"]), true);
});

Deno.test("jwksCheck: keys only for encryption fail: no ID token can be checked with them", () => {
  const uri = "https://sso.example.com/certs";
  const result = jwksCheck(uri, {
    kind: "ok",
    keys: [{ kty: "RSA", alg: "RSA-OAEP", use: "enc" }],
  });
  assertEquals([result.ok, result.detail], [false, `${uri}: no signing keys`]);
  const mixed = jwksCheck(uri, {
    kind: "ok",
    keys: [{ kty: "RSA", alg: "RSA-OAEP", use: "enc" }, { kty: "RSA", alg: "RS256", use: "sig" }],
  });
  assertEquals([mixed.ok, mixed.detail], [true, `${uri}: 1 signing key(s) (RS256)`]);
});

Deno.test("listenHeldByService: only a 200 'ok' from /healthz is the service; another 200 is another program", () => {
  assertEquals(listenHeldByService({ kind: "answered", status: 200, body: "ok" }), true);
  assertEquals(
    listenHeldByService({ kind: "answered", status: 200, body: "<html>It works!</html>" }),
    false,
  );
  assertEquals(listenHeldByService({ kind: "answered", status: 404, body: "ok" }), false);
  assertEquals(listenHeldByService({ kind: "no-answer", message: "closed" }), false);
  assertEquals(listenHeldByService({ kind: "not-connected", message: "refused" }), undefined);
});

Deno.test("managementCheck: no socket where AppArmor confines OpenVPN (Ubuntu 25.04+) names the profile and the rule for that socket", () => {
  const target = {
    server: "default",
    address: "unix:///run/openvpn/server-management.sock",
    hasPassword: false,
    serviceRunning: false,
    openvpnConfined: true,
  };
  const missing = { kind: "failed", code: "socket", message: "connect ENOENT" } as const;
  const fix = managementCheck(target, missing).fix!;
  assertStringIncludes(fix, "No socket there");
  assertStringIncludes(fix, "/etc/apparmor.d/openvpn");
  assertStringIncludes(fix, `'file rw "/run/openvpn/server-management.sock",'`);
  assertStringIncludes(fix, "/etc/apparmor.d/local/openvpn");
  // A TCP management interface is not a socket file: AppArmor's file rules do not apply.
  const tcp = managementCheck({ ...target, address: "tcp://127.0.0.1:7505" }, missing).fix!;
  assert(!tcp.includes("AppArmor"));
  // Refused for permissions: the bridge's own side (it runs unconfined), as before.
  const denied = { ...missing, message: "connect EACCES" };
  assert(!managementCheck(target, denied).fix!.includes("AppArmor"));
});
