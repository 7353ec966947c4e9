import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../support/assert.ts";
import { freePort } from "../../support/free_port.ts";
import { parseInlineToml } from "../../support/config_toml.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { callbackUrl } from "../../../src/http/routes.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import type { CheckResult } from "../../../src/probe/checks.ts";
import type { HttpServer } from "../../../src/http/serve.ts";
import { CLIENT_ID, FakeIdp, ISSUER, type TokenResponder } from "../oidc/fake_idp.ts";
import { formatResults } from "../../../src/probe/checks.ts";

const AUTHORIZE_PATH = "/realms/vpn/protocol/openid-connect/auth";
/** Values each request draws afresh. */
const PER_REQUEST = new Set(["state", "nonce", "code_challenge"]);

/**
 * A probed config: OpenVPN's management on a closed port, `http` lines added to [http], an IdP
 * request that times out after a second, `more` (sections) at the end.
 */
async function closedManagementConfig(http: string, baseUrl = "https://vpn.test", more = "") {
  const closed = await freePort();
  return parseInlineToml(`
[openvpn]
management = "tcp://127.0.0.1:${closed}"
[http]
${http}
base_url = "${baseUrl}"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "${ISSUER}"
client_id = "${CLIENT_ID}"
client_secret = "s3cret"
http_timeout = "1s"
${more}
`).config;
}

const config = parseInlineToml(`
[openvpn]
management = "unix:///nonexistent/probe-test.sock"
[http]
base_url = "https://vpn.test"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "${ISSUER}"
client_id = "${CLIENT_ID}"
client_secret = "s3cret"
scopes = ["openid", "email"]
[oidc.authorize_params]
prompt = "login"
kc_idp_hint = "corp"
`).config;

/** Name/value pairs of a request without its per-request values, in the order sent. */
function fixedParams(url: URL): [string, string][] {
  return [...url.searchParams].filter(([name]) => !PER_REQUEST.has(name));
}

Deno.test("runProbe() sends the IdP the service's authorization request, authorize_params too", async () => {
  const idp = await FakeIdp.create();
  await runProbe(config, {
    fetch: idp.fetch,
    serve: () => Promise.reject(new Error("address taken")),
  });
  const probed = idp.lastRequest("/protocol/openid-connect/auth").url;
  assertEquals(probed.pathname, AUTHORIZE_PATH);
  assertEquals(probed.searchParams.get("prompt"), "login");
  assertEquals(probed.searchParams.get("kc_idp_hint"), "corp");

  const service = createOidcClient(config.oidc, callbackUrl(config.http.baseUrl), {
    fetch: idp.fetch,
  });
  const sent = (await service.startLogin("tag")).url;
  assertEquals(fixedParams(probed), fixedParams(sent));
  assertEquals(probed.origin + probed.pathname, sent.origin + sent.pathname);
  for (const name of PER_REQUEST) assertMatch(probed.searchParams.get(name)!, /^[\w-]{43,}$/);
});

Deno.test("runProbe() adds the AppArmor rule to a missing management socket only where openvpn's profile is installed", async () => {
  const idp = await FakeIdp.create();
  const socketFix = async (profiles: readonly string[]) => {
    const results = await runProbe(config, {
      fetch: idp.fetch,
      serve: () => Promise.reject(new Error("address taken")),
      fileExists: (path) => profiles.includes(path),
    });
    return results.find((result) => result.check === "management default")!.fix!;
  };
  assertStringIncludes(
    await socketFix(["/etc/apparmor.d/openvpn"]),
    `'file rw "/nonexistent/probe-test.sock",' to /etc/apparmor.d/local/openvpn`,
  );
  assert(!(await socketFix([])).includes("AppArmor"));
});

Deno.test("runProbe() reports a TLS file it cannot read as such, not as a running service", async () => {
  const withTls = await closedManagementConfig(
    'tls_cert_file = "/nonexistent/probe-cert.pem"\ntls_key_file = "/nonexistent/probe-key.pem"',
  );
  let served = false;
  const results = await runProbe(withTls, {
    fetch: () => Promise.reject(new TypeError("offline")),
    serve: () => {
      served = true;
      return Promise.reject(new Error("address taken"));
    },
  });
  const file = results.find((result) => result.check === "http.tls_cert_file");
  assert(file !== undefined, JSON.stringify(results));
  assertEquals(file.ok, false);
  assertMatch(file.detail, /^Cannot read \/nonexistent\/probe-cert\.pem: ENOENT/);
  assert(results.some((result) => result.check === "http.tls_key_file"));
  assertEquals(served, false);
  for (const result of results) {
    assert(!`${result.fix}`.includes("stop it while probing"), JSON.stringify(result));
  }
  assert(!results.some((result) => result.check === "base url"), JSON.stringify(results));
});

Deno.test("runProbe() tells an http.listen it cannot serve (not this host's address) from one the running service holds", async () => {
  const probeConfig = await closedManagementConfig('listen = "10.9.9.9:8443"');
  const refusing = (code: string) => () =>
    Promise.reject(Object.assign(new Error(`Failed to listen at 10.9.9.9`), { code }));
  const offline = () => Promise.reject(new TypeError("offline"));
  const notHere = await runProbe(probeConfig, { fetch: offline, serve: refusing("EADDRNOTAVAIL") });
  const listen = notHere.find((result) => result.check === "http listen");
  assert(listen !== undefined, JSON.stringify(notHere));
  assertEquals(listen.ok, false);
  assertEquals(
    listen.detail,
    "Cannot listen on 10.9.9.9:8443: Failed to listen at 10.9.9.9 (EADDRNOTAVAIL)",
  );
  assert(!notHere.some((result) => result.check === "base url"), JSON.stringify(notHere));
  for (const result of notHere) {
    assert(!`${result.fix}`.includes("stop it while probing"), JSON.stringify(result));
  }
  // In use: the service runs there (its /healthz answers as the service's), which is why the
  // management interface may be busy.
  const inUse = await runProbe(probeConfig, {
    fetch: offline,
    serve: refusing("EADDRINUSE"),
    askListen: () => Promise.resolve({ kind: "answered", status: 200, body: "ok" }),
  });
  assert(!inUse.some((result) => result.check === "http listen"), JSON.stringify(inUse));
  assert(inUse.some((result) => `${result.fix}`.includes("stop it while probing")));
});

/** A stand-in for the running service on http.listen: its /healthz answers "ok", as the app's. */
function serviceLike(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new URL(request.url).pathname === "/healthz"
        ? new Response("ok")
        : new Response("Not Found", { status: 404 }),
  );
}

Deno.test("runProbe() with http.listen held by a real listener (the running service) takes it for the service, through the real server", async () => {
  // The stubs above reject as the runtimes do; here the probe's own server fails to bind, as
  // when the service runs (its error kept EADDRINUSE through the connection guard).
  const held = serviceLike();
  try {
    const probeConfig = await closedManagementConfig(`listen = "127.0.0.1:${held.addr.port}"`);
    const offline = () => Promise.reject(new TypeError("offline"));
    const results = await runProbe(probeConfig, { fetch: offline });
    assert(!results.some((result) => result.check === "http listen"), JSON.stringify(results));
    assert(results.some((result) => `${result.fix}`.includes("stop it while probing")));
  } finally {
    await held.shutdown();
  }
});

/** The IdP answers as the fake one does; `<base_url>/healthz` as `health` says. */
function withHealth(
  idp: FakeIdp,
  health: (url: string, init?: RequestInit) => Promise<Response>,
) {
  return (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    return new URL(url).pathname === "/healthz" ? health(url, init) : idp.fetch(input, init);
  };
}

/** http.listen taken: the running service is asked through base_url. */
const serviceRuns = () =>
  Promise.reject(Object.assign(new Error("Address in use"), { code: "EADDRINUSE" }));
/** http.listen free: the probe serves it (here: pretends to). */
const probeServes = () =>
  Promise.resolve(
    { port: 0, stats: () => ({}), close: () => Promise.resolve() } as unknown as HttpServer,
  );

function baseUrlResult(results: CheckResult[]): CheckResult {
  const result = results.find((candidate) => candidate.check === "base url");
  assert(result !== undefined, JSON.stringify(results));
  return result;
}

Deno.test("runProbe() reports a base_url answering HTTP 502 (a proxy without its backend) as such, not as the IdP failing", async () => {
  const idp = await FakeIdp.create();
  const probeConfig = await closedManagementConfig("");
  for (const serve of [serviceRuns, probeServes]) {
    const results = await runProbe(probeConfig, {
      fetch: withHealth(idp, () => Promise.resolve(new Response("Bad Gateway", { status: 502 }))),
      serve,
    });
    assert(results.find((result) => result.check === "idp discovery")?.ok, JSON.stringify(results));
    const base = baseUrlResult(results);
    assertEquals(base.ok, false);
    assertMatch(base.detail, /^https:\/\/vpn\.test\/healthz: HTTP 502\b/);
    assert(!/IdP/.test(base.detail), base.detail);
  }
});

Deno.test("runProbe() reports a refused connection to base_url with the connection's error, not as the IdP failing", async () => {
  const idp = await FakeIdp.create();
  const closed = await freePort();
  const probeConfig = await closedManagementConfig("", `http://127.0.0.1:${closed}`);
  const results = await runProbe(probeConfig, {
    fetch: withHealth(idp, (url, init) => fetch(url, init)),
    serve: serviceRuns,
  });
  const base = baseUrlResult(results);
  assertEquals(base.ok, false);
  assertMatch(base.detail, new RegExp(`^http://127\\.0\\.0\\.1:${closed}/healthz: .*refused`, "i"));
  assert(!/IdP/.test(base.detail), base.detail);
});

Deno.test("runProbe() gives up on a base_url that does not answer after oidc.http_timeout", async () => {
  const idp = await FakeIdp.create();
  const probeConfig = await closedManagementConfig("");
  const results = await runProbe(probeConfig, {
    fetch: withHealth(
      idp,
      (_url, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
        ),
    ),
    serve: serviceRuns,
  });
  const base = baseUrlResult(results);
  assertEquals(base.detail, "https://vpn.test/healthz: no answer within 1000 ms");
});

function resultOf(results: CheckResult[], check: string): CheckResult {
  const result = results.find((candidate) => candidate.check === check);
  assert(result !== undefined, JSON.stringify(results));
  return result;
}

Deno.test("runProbe() fails a metrics.listen another program holds while http.listen is free, and takes it for the service when both are held", async () => {
  const offline = () => Promise.reject(new TypeError("offline"));
  const heldMetrics = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const metricsPort = heldMetrics.addr.port;
  const metrics = `[metrics]\nlisten = "127.0.0.1:${metricsPort}"`;
  try {
    const httpFree = await closedManagementConfig(
      `listen = "127.0.0.1:${await freePort()}"`,
      undefined,
      metrics,
    );
    const taken = resultOf(await runProbe(httpFree, { fetch: offline }), "metrics listen");
    assertEquals(taken.ok, false);
    assertMatch(taken.detail, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${metricsPort}: `));
    assertMatch(taken.fix!, /another program listens there.*set metrics\.listen to a free port/);

    // The running service holds both: nothing to fix on either.
    const heldHttp = serviceLike();
    try {
      const both = await closedManagementConfig(
        `listen = "127.0.0.1:${heldHttp.addr.port}"`,
        undefined,
        metrics,
      );
      const results = await runProbe(both, { fetch: offline });
      for (const check of ["http listen", "metrics listen"]) {
        assert(!results.some((r) => r.check === check && !r.ok), JSON.stringify(results));
      }
      assertMatch(resultOf(results, "metrics listen").detail, /by the running service$/);
    } finally {
      await heldHttp.shutdown();
    }
  } finally {
    heldMetrics.close();
  }
});

Deno.test("runProbe() binds a free metrics.listen and lets it go again; one not of this host fails", async () => {
  const offline = () => Promise.reject(new TypeError("offline"));
  const port = await freePort();
  const free = await closedManagementConfig(
    `listen = "127.0.0.1:${await freePort()}"`,
    undefined,
    `[metrics]\nlisten = "127.0.0.1:${port}"`,
  );
  const bound = resultOf(await runProbe(free, { fetch: offline }), "metrics listen");
  assertEquals([bound.ok, bound.detail], [true, `127.0.0.1:${port} can be bound`]);
  Deno.listen({ hostname: "127.0.0.1", port }).close();

  const elsewhere = await closedManagementConfig(
    "",
    undefined,
    `[metrics]\nlisten = "10.9.9.9:${port}"`,
  );
  const notHere = resultOf(
    await runProbe(elsewhere, {
      fetch: offline,
      serve: (options) =>
        options.host === "10.9.9.9"
          ? Promise.reject(Object.assign(new Error("Failed to listen"), { code: "EADDRNOTAVAIL" }))
          : probeServes(),
    }),
    "metrics listen",
  );
  assertEquals(notHere.ok, false);
  assertEquals(
    notHere.detail,
    `Cannot listen on 10.9.9.9:${port}: Failed to listen (EADDRNOTAVAIL)`,
  );
  assertMatch(notHere.fix!, /use an address of this host/);
});

/** A config probing the fake IdP at `issuer`, `oidc` lines added to [oidc]. */
function idpConfig(oidc = 'client_secret = "s3cret"', issuer = ISSUER) {
  return parseInlineToml(`
[openvpn]
management = "unix:///nonexistent/probe-test.sock"
[http]
base_url = "https://vpn.test"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "${issuer}"
client_id = "${CLIENT_ID}"
${oidc}
`).config;
}

const TOKEN_PATH = "/protocol/openid-connect/token";

/**
 * The token endpoint as Keycloak answers a made-up code: the client's credentials first (401
 * unauthorized_client), then the code (400 invalid_grant).
 */
function keycloakToken(secret: string): TokenResponder {
  return (request) => {
    // client_secret_basic sends both form-encoded (RFC 6749 2.3.1), client_secret_post as fields.
    const basic = /^Basic (.*)$/.exec(request.headers.get("authorization") ?? "");
    const [id, sent] = basic === null
      ? [request.form.get("client_id"), request.form.get("client_secret")]
      : atob(basic[1]!).split(":").map(decodeURIComponent);
    const json = (status: number, error: string, description: string) =>
      new Response(JSON.stringify({ error, error_description: description }), {
        status,
        headers: { "content-type": "application/json" },
      });
    return id === CLIENT_ID && sent === secret
      ? json(400, "invalid_grant", "Code not valid")
      : json(401, "unauthorized_client", "Invalid client or Invalid client credentials");
  };
}

async function probeIdp(idp: FakeIdp, probed = idpConfig()): Promise<CheckResult[]> {
  return await runProbe(probed, { fetch: idp.fetch, serve: serviceRuns });
}

Deno.test("runProbe() fails discovery naming http:// back-channel endpoints of an https issuer, and fetches none of them", async () => {
  const idp = await FakeIdp.create();
  const plain = ISSUER.replace("https:", "http:");
  idp.metadataExtras = {
    token_endpoint: `${plain}/protocol/openid-connect/token`,
    jwks_uri: `${plain}/protocol/openid-connect/certs`,
  };
  idp.onToken = keycloakToken("s3cret");
  const results = await probeIdp(idp);
  const discovery = resultOf(results, "idp discovery");
  assertEquals(discovery.ok, false);
  assertMatch(
    discovery.detail,
    /refuses to call \(it calls https only\): token_endpoint http:\/\/idp\.test, jwks_uri http:\/\/idp\.test$/,
  );
  assertMatch(discovery.fix!, /KC_HOSTNAME/);
  assertEquals(idp.countRequests("/protocol/openid-connect/certs"), 0);
  assertEquals(idp.countRequests(TOKEN_PATH), 0);
});

Deno.test("runProbe() fails discovery without token_endpoint, or without userinfo_endpoint when use_userinfo is on", async () => {
  const idp = await FakeIdp.create();
  idp.metadataExtras = { token_endpoint: undefined };
  const noToken = resultOf(await probeIdp(idp), "idp discovery");
  assertEquals(noToken.ok, false);
  assertMatch(noToken.detail, /lacks token_endpoint$/);

  idp.metadataExtras = { userinfo_endpoint: undefined };
  assertEquals(resultOf(await probeIdp(idp), "idp discovery").ok, true);
  const userinfo = resultOf(
    await probeIdp(idp, idpConfig('client_secret = "s3cret"\nuse_userinfo = true')),
    "idp discovery",
  );
  assertEquals(userinfo.ok, false);
  assertMatch(userinfo.detail, /lacks userinfo_endpoint$/);
  assertMatch(userinfo.fix!, /set oidc\.use_userinfo = false/);
});

Deno.test("runProbe() accepts http endpoints of a loopback http issuer, as the service does, and calls them", async () => {
  const idp = await FakeIdp.create();
  const issuer = "http://127.0.0.1:8080/realms/vpn";
  idp.metadataExtras = {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${issuer}/protocol/openid-connect/token`,
    userinfo_endpoint: `${issuer}/protocol/openid-connect/userinfo`,
    revocation_endpoint: `${issuer}/protocol/openid-connect/revoke`,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
  };
  idp.onToken = keycloakToken("s3cret");
  const results = await probeIdp(idp, idpConfig('client_secret = "s3cret"', issuer));
  for (const check of ["idp discovery", "idp keys", "client auth"]) {
    assertEquals(resultOf(results, check).ok, true, JSON.stringify(results));
  }
  assertEquals(idp.lastRequest(TOKEN_PATH).url.origin, "http://127.0.0.1:8080");
});

Deno.test("runProbe() fails discovery of a loopback http issuer naming plain http endpoints on another host, and sends that host nothing", async () => {
  const idp = await FakeIdp.create();
  const issuer = "http://127.0.0.1:8080/realms/vpn";
  const elsewhere = "http://sso.corp.example/realms/vpn";
  idp.metadataExtras = {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${elsewhere}/protocol/openid-connect/token`,
    jwks_uri: `${elsewhere}/protocol/openid-connect/certs`,
  };
  idp.onToken = keycloakToken("s3cret");
  const results = await probeIdp(idp, idpConfig('client_secret = "s3cret"', issuer));
  const discovery = resultOf(results, "idp discovery");
  assertEquals(discovery.ok, false);
  assertMatch(
    discovery.detail,
    /refuses to call \(it calls https, or plain http to a loopback host\): token_endpoint http:\/\/sso\.corp\.example, jwks_uri http:\/\/sso\.corp\.example$/,
  );
  assertMatch(discovery.fix!, /or, with this loopback http issuer, a loopback one/);
  assertEquals(idp.requests.filter((r) => r.url.hostname === "sso.corp.example"), []);
});

Deno.test("runProbe() sends one code grant with a made-up code and the service's client authentication: invalid_grant passes", async () => {
  const idp = await FakeIdp.create();
  idp.onToken = keycloakToken("s3cret");
  for (const method of ["client_secret_basic", "client_secret_post"]) {
    const results = await probeIdp(
      idp,
      idpConfig(`client_secret = "s3cret"\nclient_auth_method = "${method}"`),
    );
    const auth = resultOf(results, "client auth");
    assertEquals(auth.ok, true, JSON.stringify(results));
    assertMatch(auth.detail, new RegExp(`^client credentials accepted \\(${method};`));
  }
  assertEquals(idp.countRequests(TOKEN_PATH), 2);
  const sent = idp.lastRequest(TOKEN_PATH);
  assertEquals(sent.method, "POST");
  assertEquals(sent.form.get("grant_type"), "authorization_code");
  assertEquals(sent.form.get("redirect_uri"), callbackUrl(config.http.baseUrl));
  assertMatch(sent.form.get("code")!, /^[\w-]{43,}$/);
  assertMatch(sent.form.get("code_verifier")!, /^[\w-]{43,}$/);
});

Deno.test("runProbe() fails a client secret the IdP refuses with the fix, and prints no secret", async () => {
  const idp = await FakeIdp.create();
  idp.onToken = keycloakToken("the-right-secret");
  for (const method of ["client_secret_basic", "client_secret_post"]) {
    const results = await probeIdp(
      idp,
      idpConfig(`client_secret = "s3cret"\nclient_auth_method = "${method}"`),
    );
    const auth = resultOf(results, "client auth");
    assertEquals(auth.ok, false);
    assertMatch(
      auth.detail,
      new RegExp(
        `^the token endpoint refused the client \\(${method}\\): HTTP 401 unauthorized_client`,
      ),
    );
    assertMatch(auth.fix!, /oidc\.client_secret .*Credentials tab/);
    assert(!formatResults(results).includes("s3cret"), formatResults(results));
  }
});

Deno.test("runProbe() fails a client_auth_method the IdP does not list, without sending it", async () => {
  const idp = await FakeIdp.create();
  idp.onToken = keycloakToken("s3cret");
  idp.metadataExtras = { token_endpoint_auth_methods_supported: ["private_key_jwt"] };
  const auth = resultOf(await probeIdp(idp), "client auth");
  assertEquals(auth.ok, false);
  assertMatch(auth.detail, /client_secret_basic is not among .*\(private_key_jwt\)$/);
  assertEquals(idp.countRequests(TOKEN_PATH), 0);
});

Deno.test("runProbe() scrubs the secret and any assertion an IdP echoes from its error_description", async () => {
  const idp = await FakeIdp.create();
  idp.onToken = () =>
    new Response(
      JSON.stringify({
        error: "invalid_client",
        error_description: "bad secret s3cret in eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
      }),
      { status: 400, headers: { "content-type": "application/json" } },
    );
  const auth = resultOf(await probeIdp(idp), "client auth");
  assertEquals(auth.ok, false);
  assertMatch(auth.detail, /HTTP 400 invalid_client \(bad secret \*\*\* in \*\*\*\)$/);
});

Deno.test("runProbe() names another program on http.listen (not this service's /healthz), and does not say to stop the service", async () => {
  // A web server that is not the service, and a listener that answers no HTTP at all.
  const web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("Not Found", { status: 404 }),
  );
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    for (
      const [port, said] of [
        [web.addr.port, "its /healthz answered HTTP 404"],
        [silent.addr.port, "it gave no HTTP answer to /healthz (no answer within 1000 ms)"],
      ] as const
    ) {
      const probeConfig = await closedManagementConfig(`listen = "127.0.0.1:${port}"`);
      let healthAsked = false;
      const results = await runProbe(probeConfig, {
        fetch: (input) => {
          if (String(input).endsWith("/healthz")) healthAsked = true;
          return Promise.reject(new TypeError("offline"));
        },
      });
      const listen = resultOf(results, "http listen");
      assertEquals(listen.ok, false);
      assertEquals(
        listen.detail,
        `http.listen 127.0.0.1:${port} is in use by another program: ${said}, not as ` +
          "openvpn-auth-oidc does",
      );
      assertMatch(listen.fix!, /stop it, or set http\.listen to a free port/);
      assert(!results.some((result) => result.check === "base url"), formatResults(results));
      assertEquals(healthAsked, false, "base_url asked, though it leads to the other program");
      for (const result of results) {
        assert(!`${result.fix}`.includes("stop it while probing"), JSON.stringify(result));
      }
    }
  } finally {
    silent.close();
    await web.shutdown();
  }
});

Deno.test("runProbe() warns about a loopback base_url only", async () => {
  const offline = () => Promise.reject(new TypeError("offline"));
  for (const [baseUrl, warned] of [["http://127.0.0.1:9000", true], ["https://vpn.test", false]]) {
    const results = await runProbe(await closedManagementConfig("", baseUrl as string), {
      fetch: offline,
      serve: probeServes,
    });
    const host = results.find((result) => result.check === "base url host");
    assertEquals(host !== undefined, warned, formatResults(results));
    if (host === undefined) continue;
    assertEquals([host.ok, host.warning], [true, true]);
    assert(
      formatResults([host]).startsWith("warn  base url host  127.0.0.1 is a loopback address"),
    );
  }
});

Deno.test("runProbe() lets http.listen go again once it has served it, whatever the checks found", async () => {
  const port = await freePort();
  const probeConfig = await closedManagementConfig(`listen = "127.0.0.1:${port}"`);
  const results = await runProbe(probeConfig, {
    fetch: () => Promise.reject(new TypeError("offline")),
  });
  assertEquals(resultOf(results, "base url").ok, false);
  // Still bound, the service could not start after the probe, nor would check-config's process end.
  Deno.listen({ hostname: "127.0.0.1", port }).close();
});
