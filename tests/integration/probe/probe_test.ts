/**
 * `check-config --probe` through the CLI against the test IdP (oidc-provider, Keycloak-like) and
 * a fake OpenVPN management interface with a password: everything right, then one thing wrong
 * at a time (management password, issuer, redirect URI not registered, base_url elsewhere).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { type CliIo, EXIT_OK, EXIT_RUNTIME, runCli } from "../../../src/cli.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { OPENVPN_VERSION_LINE } from "../../support/openvpn_side.ts";
import { freePort } from "../../support/free_port.ts";
import { startForwardingRelay } from "../../support/forwarding_relay.ts";
import { startIdpForBridges, type TestIdp } from "../../support/idp/mod.ts";
import { makeServerCertificate } from "../../support/certificates.ts";

const PASSWORD = "mgmt-password";

interface Setup {
  idp: TestIdp;
  /** With `tls`: the CA that signed the IdP's certificate, its file and PEM. */
  ca?: { file: string; pem: string };
  management: FakeManagementServer;
  port: number;
  /** For a reverse proxy in front of http.listen: the IdP knows its redirect URI too. */
  proxyPort: number;
}

async function withSetup(
  body: (setup: Setup) => Promise<void>,
  options: { hold?: boolean; tls?: boolean } = {},
): Promise<void> {
  const port = await freePort();
  const proxyPort = await freePort();
  // An IdP over HTTPS whose certificate a CA of the test's own signed (a company CA).
  const dir = options.tls ? mkdtempSync(join(tmpdir(), "probe-idp-ca-")) : undefined;
  const certificate = dir === undefined
    ? undefined
    : await makeServerCertificate(dir, "127.0.0.1", "idp");
  const idp = await startIdpForBridges(
    [`http://127.0.0.1:${port}`, `http://127.0.0.1:${proxyPort}`],
    "probe-client-secret",
    certificate === undefined ? {} : { tls: { cert: certificate.cert, key: certificate.key } },
  );
  const management = await FakeManagementServer.start({
    password: PASSWORD,
    ...(options.hold === undefined ? {} : { hold: options.hold }),
  });
  try {
    await body({
      idp,
      management,
      port,
      proxyPort,
      ...(certificate === undefined
        ? {}
        : { ca: { file: certificate.caFile, pem: certificate.ca } }),
    });
  } finally {
    await management.stop();
    await idp.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function configToml(setup: Setup, change: Partial<Record<string, string>> = {}): string {
  const address = setup.management.address;
  const management = address.kind === "tcp"
    ? `tcp://${address.host}:${address.port}`
    : `unix://${address.path}`;
  const values = {
    trustedProxies: "[]",
    management,
    password: PASSWORD,
    listen: `127.0.0.1:${setup.port}`,
    baseUrl: `http://127.0.0.1:${setup.port}`,
    issuer: setup.idp.issuer,
    oidcExtra: "",
    ...change,
  };
  return `
[openvpn]
management = "${values.management}"
password = "${values.password}"
command_timeout = "3s"
[http]
trusted_proxies = ${values.trustedProxies}
listen = "${values.listen}"
base_url = "${values.baseUrl}"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "${values.issuer}"
client_id = "openvpn"
client_secret = "probe-client-secret"
http_timeout = "3s"
${values.oidcExtra}
[sessions]
backend = "memory"
[control]
socket = ""
`;
}

async function probe(
  toml: string,
  files: Record<string, string> = {},
): Promise<{ code: number; lines: string[] }> {
  const out: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => out.push(text),
    readTextFile: (path) => {
      const text = path === "/probe.toml" ? toml : files[path];
      if (text === undefined) throw new Error(`No such file: ${path}`);
      return text;
    },
    env: {},
    startService: () => Promise.reject(new Error("not expected")),
    onShutdownSignal: () => {},
  };
  const code = await runCli(["check-config", "--probe", "--config", "/probe.toml"], io);
  return { code, lines: out.join("").trimEnd().split("\n") };
}

/** The line of one check, e.g. "redirect uri". */
function line(lines: string[], check: string): string {
  const found = lines.find((text) => new RegExp(`^(ok  |warn|FAIL)  ${check}\\b`).test(text));
  if (found === undefined) throw new Error(`No "${check}" line in:\n${lines.join("\n")}`);
  return found;
}

Deno.test("probe: every check passes against a reachable, well-configured setup (exit 0)", async () => {
  await withSetup(async (setup) => {
    const { code, lines } = await probe(configToml(setup));
    assertEquals(code, EXIT_OK, lines.join("\n"));
    assertEquals(lines.map((text) => text.slice(0, 4)), [
      "ok  ",
      "warn",
      "ok  ",
      "ok  ",
      "ok  ",
      "ok  ",
      "ok  ",
      "warn",
    ]);
    assertMatch(line(lines, "management default"), /management version 5, password accepted/);
    // The fake OpenVPN names 2.6.14, as Debian's does: older than 2.6.21, a warning, not a failure.
    assertMatch(
      line(lines, "management default"),
      /^warn .*OpenVPN 2\.6\.14, .*CVE-2026-13122.*Fix: Update OpenVPN to 2\.6\.21 or 2\.7\.5/,
    );
    assertMatch(line(lines, "idp discovery"), new RegExp(`issuer ${setup.idp.issuer}`));
    assertMatch(line(lines, "idp keys"), /1 signing key\(s\) \(RS256\)/);
    assertMatch(line(lines, "redirect uri"), /accepted by the IdP/);
    // The test IdP (oidc-provider) checks the client before the code, as Keycloak does.
    assertMatch(line(lines, "client auth"), /client credentials accepted/);
    assertMatch(line(lines, "base url"), /\/healthz reaches http\.listen/);
    // Loopback, as here, passes from this host only: a warning, not a failure.
    assertMatch(
      line(lines, "base url host"),
      /^warn .*127\.0\.0\.1 is a loopback address: only browsers on this host .*Fix: Set http\.base_url/,
    );
    // The probe sent the password and `version`, and let go of the interface again.
    assertEquals(setup.management.received.slice(0, 2), [PASSWORD, "version"]);
    assertEquals(setup.management.received.filter((text) => text === "version").length >= 2, true);
  });
});

Deno.test("probe: an oidc.http_timeout shorter than a management command may wait still probes the management interface", async () => {
  await withSetup(async (setup) => {
    // Answers `version` 200 ms late, as a busy host may: a 50 ms http_timeout is for the IdP.
    let versions = 0;
    setup.management.respond = (command) => {
      if (command !== "version" || ++versions > 1) return "default";
      setTimeout(
        () =>
          setup.management.sendLines([
            OPENVPN_VERSION_LINE,
            "Management Version: 5",
            "END",
          ]),
        200,
      );
      return "none";
    };
    const { lines } = await probe(
      configToml(setup).replace('http_timeout = "3s"', 'http_timeout = "50ms"'),
    );
    assertMatch(line(lines, "management default"), /management version 5, password accepted/);
  });
});

Deno.test("probe: like the service, it releases a management hold", async () => {
  await withSetup(async (setup) => {
    const { code, lines } = await probe(configToml(setup));
    assertEquals(code, EXIT_OK, lines.join("\n"));
    assertMatch(line(lines, "management default"), /^(ok {2}|warn) .*password accepted/);
    assertEquals(setup.management.holdReleased, true);
    assertEquals(setup.management.received.filter((text) => text === "hold release"), [
      "hold release",
    ]);
  }, { hold: true });
});

Deno.test("probe: a wrong management password fails that check with the fix (exit 1)", async () => {
  await withSetup(async (setup) => {
    const { code, lines } = await probe(configToml(setup, { password: "wrong-password" }));
    assertEquals(code, EXIT_RUNTIME);
    const management = line(lines, "management default");
    assertMatch(management, /^FAIL .*password.*Fix: Set openvpn\.password_file/);
    assertEquals(management.includes("wrong-password"), false);
    assertMatch(line(lines, "idp discovery"), /^ok/);
  });
});

Deno.test("probe: a wrong issuer fails discovery with the fix, and no later IdP check runs", async () => {
  await withSetup(async (setup) => {
    const wrongRealm = setup.idp.issuer.replace(/\/realms\/vpn$/, "/realms/other");
    let result = await probe(configToml(setup, { issuer: wrongRealm }));
    assertEquals(result.code, EXIT_RUNTIME);
    assertMatch(line(result.lines, "idp discovery"), /^FAIL .*HTTP 404.*Fix: oidc\.issuer must be/);
    assertEquals(result.lines.some((text) => /idp keys|redirect uri/.test(text)), false);

    // Right document, different name (a trailing slash): the fix names the IdP's issuer.
    result = await probe(configToml(setup, { issuer: `${setup.idp.issuer}/` }));
    assertEquals(result.code, EXIT_RUNTIME);
    assertMatch(
      line(result.lines, "idp discovery"),
      new RegExp(`^FAIL .*Fix: Set oidc\\.issuer = "${setup.idp.issuer}"`),
    );
  });
});

Deno.test("probe: an IdP whose certificate a private CA signed fails discovery naming oidc.tls_ca_file; with it, every IdP check passes", async () => {
  await withSetup(async (setup) => {
    const { file, pem } = setup.ca!;
    let result = await probe(configToml(setup));
    assertEquals(result.code, EXIT_RUNTIME);
    assertMatch(
      line(result.lines, "idp discovery"),
      /^FAIL .*https:\/\/127\.0\.0\.1:\d+\/realms\/vpn\/\.well-known\/openid-configuration: .*Fix: The IdP's certificate is not signed by a CA this host trusts: set oidc\.tls_ca_file/,
    );
    result = await probe(configToml(setup, { oidcExtra: `tls_ca_file = "${file}"` }), {
      [file]: pem,
    });
    assertEquals(result.code, EXIT_OK, result.lines.join("\n"));
    assertMatch(line(result.lines, "idp discovery"), new RegExp(`issuer ${setup.idp.issuer}`));
    assertMatch(line(result.lines, "idp keys"), /^ok /);
    assertMatch(line(result.lines, "redirect uri"), /accepted by the IdP/);
    assertMatch(line(result.lines, "client auth"), /client credentials accepted/);
  }, { tls: true });
});

Deno.test("probe: a redirect URI the IdP does not know fails with how to register it", async () => {
  await withSetup(async (setup) => {
    const other = await freePort();
    const { code, lines } = await probe(
      configToml(setup, { listen: `127.0.0.1:${other}`, baseUrl: `http://127.0.0.1:${other}` }),
    );
    assertEquals(code, EXIT_RUNTIME);
    assertMatch(
      line(lines, "redirect uri"),
      new RegExp(
        `^FAIL .*not registered \\(HTTP 400\\).*Fix: Register http://127\\.0\\.0\\.1:${other}` +
          `/oauth2/callback as a valid redirect URI of client "openvpn"`,
      ),
    );
    assertMatch(line(lines, "base url"), /^ok/);
  });
});

Deno.test("probe: a base_url that does not lead to http.listen fails with the fix", async () => {
  await withSetup(async (setup) => {
    const elsewhere = await freePort();
    const { code, lines } = await probe(
      configToml(setup, { baseUrl: `http://127.0.0.1:${elsewhere}` }),
    );
    assertEquals(code, EXIT_RUNTIME);
    assertMatch(
      line(lines, "base url"),
      /^FAIL .*\/healthz: .*Fix: Browsers must reach http\.listen/,
    );
  });
});

Deno.test("probe: a base_url whose path reaches http.listen unchanged fails saying so, not as something else answering", async () => {
  await withSetup(async (setup) => {
    const baseUrl = `http://127.0.0.1:${setup.port}/vpn`;
    const { code, lines } = await probe(configToml(setup, { baseUrl }));
    assertEquals(code, EXIT_RUNTIME);
    const base = line(lines, "base url");
    assertMatch(
      base,
      new RegExp(
        `^FAIL .*${baseUrl}/healthz reached http\\.listen 127\\.0\\.0\\.1:${setup.port} with ` +
          "base_url's path /vpn still on it \\(as /vpn/healthz, HTTP 404\\)\\. Fix: The service " +
          "serves its pages at the root of http\\.listen .*strip /vpn, or set http\\.base_url " +
          "without the path",
      ),
    );
    assertEquals(base.includes("something else"), false, base);
  });
});

Deno.test("probe: http.listen held by another program fails naming it, not DNS, the firewall or the proxy", async () => {
  await withSetup(async (setup) => {
    // Another web server on the port, as when http.listen collides with an existing service.
    const other = Deno.serve(
      { hostname: "127.0.0.1", port: setup.port, onListen() {} },
      () => new Response("Not Found", { status: 404 }),
    );
    try {
      const { code, lines } = await probe(configToml(setup));
      assertEquals(code, EXIT_RUNTIME);
      assertMatch(
        line(lines, "http listen"),
        new RegExp(
          `^FAIL .*http\\.listen 127\\.0\\.0\\.1:${setup.port} is in use by another program: ` +
            "its /healthz answered HTTP 404.*Fix: .*set http\\.listen to a free port",
        ),
      );
      // base_url leads to that program: nothing to learn there.
      assertEquals(lines.some((text) => /^FAIL +base url /.test(text)), false, lines.join("\n"));
      assertEquals(lines.some((text) => /DNS/.test(text)), false, lines.join("\n"));
    } finally {
      await other.shutdown();
    }
  });
});

/**
 * The probe through a reverse proxy on this host (tests/support/forwarding_relay.ts) at
 * base_url, with or without X-Forwarded-For, and http.trusted_proxies listing it or not.
 */
async function probeThroughProxy(forwardFor: boolean, trusted: boolean) {
  let result: { code: number; lines: string[] } | undefined;
  await withSetup(async (setup) => {
    const proxy = startForwardingRelay(setup.proxyPort, new URL(`http://127.0.0.1:${setup.port}`), {
      forwardFor,
    });
    try {
      result = await probe(configToml(setup, {
        baseUrl: `http://127.0.0.1:${setup.proxyPort}`,
        trustedProxies: trusted ? '["127.0.0.1"]' : "[]",
      }));
    } finally {
      await proxy.stop();
    }
  });
  const { code, lines } = result!;
  // A warning only: the sign-in works, for one browser at a time.
  assertEquals(code, EXIT_OK, lines.join("\n"));
  assertMatch(line(lines, "base url"), /^ok .*\/healthz reaches http\.listen/);
  return line(lines, "reverse proxy");
}

Deno.test("probe: a proxy that sends X-Forwarded-For and is in http.trusted_proxies passes", async () => {
  assertMatch(
    await probeThroughProxy(true, true),
    /^ok {4}reverse proxy +base_url reaches http\.listen through 127\.0\.0\.1, which sends X-Forwarded-For and is in http\.trusted_proxies$/,
  );
});

Deno.test("probe: a proxy that sends X-Forwarded-For but is not in http.trusted_proxies gets a warning with the fix", async () => {
  assertMatch(
    await probeThroughProxy(true, false),
    new RegExp(
      "^warn  reverse proxy +base_url reaches http\\.listen through a proxy at 127\\.0\\.0\\.1 " +
        "that sends X-Forwarded-For but is not in http\\.trusted_proxies: .*every browser shares " +
        "its limit of 32 connections .*check_client_ip sees the proxy's address\\. Fix: List " +
        'the proxy in http\\.trusted_proxies \\(trusted_proxies = \\["127\\.0\\.0\\.1"\\]\\)$',
    ),
  );
});

for (const trusted of [false, true]) {
  Deno.test(`probe: a proxy that sends no X-Forwarded-For gets a warning (${trusted ? "" : "not "}in http.trusted_proxies)`, async () => {
    assertMatch(
      await probeThroughProxy(false, trusted),
      new RegExp(
        "^warn  reverse proxy +base_url reaches http\\.listen through a proxy at 127\\.0\\.0\\.1 " +
          "that sends no X-Forwarded-For: browsers get /readyz details \\(servers, links\\), " +
          "and every browser shares its limit of 32 connections .*\\. Fix: Have the proxy send " +
          "X-Forwarded-For .* and list it in http\\.trusted_proxies",
      ),
    );
  });
}
