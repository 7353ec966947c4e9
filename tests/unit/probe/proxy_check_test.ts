/**
 * The probe's reverse proxy check (src/probe/proxy_check.ts): how its own request to
 * `<base_url>/healthz` reached http.listen tells a direct path from a proxy, and a proxy that
 * names the browser (X-Forwarded-For, trusted) from one that does not. Then, through runProbe and
 * a real listener, that only the probe's own request is judged.
 */
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { freePort } from "../../support/free_port.ts";
import { parseInlineToml } from "../../support/config_toml.ts";
import { trustedProxies } from "../../../src/http/client_ip.ts";
import { formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { type ArrivedRequest, proxyCheck } from "../../../src/probe/proxy_check.ts";

function setting(baseUrl: string, listen: string, trusted: string[] = []) {
  const [host, port] = listen.split(":");
  return {
    baseUrl: new URL(baseUrl),
    listen: { host: host!, port: Number(port) },
    isTrusted: trustedProxies(trusted),
    maxConnectionsPerClient: 32,
  };
}

function arrived(
  peer: string,
  host: string,
  forwarding: ArrivedRequest["forwarding"] = {},
): ArrivedRequest {
  return { peer, host, forwarding };
}

Deno.test("proxyCheck() finds nothing to judge in a request straight to http.listen", () => {
  // Built-in TLS on 443 (any address), asked from this host over its public name.
  assertEquals(
    proxyCheck(
      setting("https://vpn.example.com", "0.0.0.0:443"),
      arrived("192.0.2.5", "vpn.example.com"),
    ),
    undefined,
  );
  // The loopback demo set-up, base_url being http.listen itself.
  assertEquals(
    proxyCheck(
      setting("http://127.0.0.1:9000", "127.0.0.1:9000"),
      arrived("127.0.0.1", "127.0.0.1:9000"),
    ),
    undefined,
  );
});

Deno.test("proxyCheck() sees a proxy that adds no header by what it changed on the way", () => {
  const cases: [string, ReturnType<typeof setting>, ArrivedRequest][] = [
    // nginx's default Host is the backend's, even from another host on the same port number.
    [
      "Host rewritten",
      setting("https://vpn.example.com", "0.0.0.0:443"),
      arrived("192.0.2.9", "10.0.0.5:443"),
    ],
    // HAProxy keeps the Host header, but listens on a port of its own.
    [
      "another port",
      setting("https://vpn.example.com", "127.0.0.1:9000"),
      arrived("192.0.2.9", "vpn.example.com"),
    ],
    // From 127.0.0.1 while base_url names a public address of this host, on the same port.
    [
      "loopback peer",
      setting("https://vpn.example.com", "0.0.0.0:443"),
      arrived("127.0.0.1", "vpn.example.com"),
    ],
  ];
  for (const [what, where, request] of cases) {
    const result = proxyCheck(where, request);
    assert(result?.warning, `${what}: ${JSON.stringify(result)}`);
    assertMatch(result.detail, /that sends no X-Forwarded-For: /, what);
    assertMatch(result.fix!, /option forwardfor.* list it in http\.trusted_proxies/, what);
  }
});

Deno.test("proxyCheck() says /readyz shows details only when the proxy's requests look like its own", () => {
  const where = setting("https://vpn.example.com", "127.0.0.1:9000", ["10.0.0.0/8"]);
  const shows = (request: ArrivedRequest) => /readyz/.test(proxyCheck(where, request)!.detail);
  assertEquals(shows(arrived("127.0.0.1", "127.0.0.1:9000")), true, "this host");
  assertEquals(shows(arrived("10.1.2.3", "127.0.0.1:9000")), true, "a trusted proxy");
  assertEquals(shows(arrived("192.0.2.9", "127.0.0.1:9000")), false, "another host");
  // X-Real-IP (nginx's usual line) hides the details, but names no browser the service reads.
  const realIp = proxyCheck(
    where,
    arrived("127.0.0.1", "vpn.example.com", { "x-real-ip": "198.51.100.7" }),
  )!;
  assertEquals(realIp.warning, true);
  assertMatch(
    realIp.detail,
    /sends no X-Forwarded-For \(it sends x-real-ip, which the service does not read\): every browser shares/,
  );
});

Deno.test("proxyCheck() passes X-Forwarded-For from a trusted proxy and warns about an untrusted one", () => {
  const where = setting("https://vpn.example.com", "127.0.0.1:9000", ["::1"]);
  const trusted = proxyCheck(
    where,
    arrived("::1", "vpn.example.com", { "x-forwarded-for": "192.0.2.9" }),
  )!;
  assertEquals([trusted.ok, trusted.warning], [true, undefined]);
  const untrusted = proxyCheck(
    where,
    arrived("::ffff:127.0.0.1", "vpn.example.com", { "x-forwarded-for": "192.0.2.9" }),
  )!;
  assertEquals(untrusted.warning, true);
  assertEquals(
    untrusted.fix,
    'List the proxy in http.trusted_proxies (trusted_proxies = ["127.0.0.1"])',
  );
});

Deno.test("runProbe() judges its own request to base_url, not another that reaches http.listen meanwhile", async () => {
  const port = await freePort();
  const config = parseInlineToml(`
[openvpn]
management = "tcp://127.0.0.1:${await freePort()}"
[http]
listen = "127.0.0.1:${port}"
base_url = "https://vpn.test"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "https://idp.invalid/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"
http_timeout = "1s"
`).config;
  const listener = `http://127.0.0.1:${port}/healthz`;
  const results = await runProbe(config, {
    fetch: async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (new URL(url).pathname !== "/healthz") throw new TypeError("offline");
      // A proxy that forwards no address, then a load balancer's check that carries one.
      const own = await fetch(listener, init);
      await (await fetch(listener, { headers: { "x-forwarded-for": "192.0.2.9" } })).body?.cancel();
      return own;
    },
  });
  const proxy = results.find((result) => result.check === "reverse proxy");
  assert(proxy !== undefined, formatResults(results));
  assertMatch(proxy.detail, /through a proxy at 127\.0\.0\.1 that sends no X-Forwarded-For/);
});
