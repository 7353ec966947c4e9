import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { freePort } from "../../support/free_port.ts";
import { parseInlineToml } from "../../support/config_toml.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { callbackUrl } from "../../../src/http/routes.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import type { CheckResult } from "../../../src/probe/checks.ts";
import type { HttpServer } from "../../../src/http/serve.ts";
import { CLIENT_ID, FakeIdp, ISSUER } from "../oidc/fake_idp.ts";

const AUTHORIZE_PATH = "/realms/vpn/protocol/openid-connect/auth";
/** Values each request draws afresh. */
const PER_REQUEST = new Set(["state", "nonce", "code_challenge"]);

/**
 * A probed config: OpenVPN's management on a closed port, `http` lines added to [http], an IdP
 * request that times out after a second.
 */
async function closedManagementConfig(http: string, baseUrl = "https://vpn.test") {
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
  const sent = (await service.startLogin()).url;
  assertEquals(fixedParams(probed), fixedParams(sent));
  assertEquals(probed.origin + probed.pathname, sent.origin + sent.pathname);
  for (const name of PER_REQUEST) assertMatch(probed.searchParams.get(name)!, /^[\w-]{43,}$/);
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
  assertMatch(listen.detail, /^Cannot listen on 10\.9\.9\.9:8443: EADDRNOTAVAIL/);
  assert(!notHere.some((result) => result.check === "base url"), JSON.stringify(notHere));
  for (const result of notHere) {
    assert(!`${result.fix}`.includes("stop it while probing"), JSON.stringify(result));
  }
  // In use: the service runs there, which is why the management interface may be busy.
  const inUse = await runProbe(probeConfig, { fetch: offline, serve: refusing("EADDRINUSE") });
  assert(!inUse.some((result) => result.check === "http listen"), JSON.stringify(inUse));
  assert(inUse.some((result) => `${result.fix}`.includes("stop it while probing")));
});

Deno.test("runProbe() with http.listen held by a real listener (the running service) takes it for the service, through the real server", async () => {
  // The stubs above reject as the runtimes do; here the probe's own server fails to bind, as
  // when the service runs (its error kept EADDRINUSE through the connection guard).
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const probeConfig = await closedManagementConfig(`listen = "127.0.0.1:${held.addr.port}"`);
    const offline = () => Promise.reject(new TypeError("offline"));
    const results = await runProbe(probeConfig, { fetch: offline });
    assert(!results.some((result) => result.check === "http listen"), JSON.stringify(results));
    assert(results.some((result) => `${result.fix}`.includes("stop it while probing")));
  } finally {
    held.close();
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
