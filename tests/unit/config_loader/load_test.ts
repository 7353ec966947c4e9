import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import { mergeReload } from "../../../src/config/live.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import { Secret } from "../../../src/config/secret.ts";
import { parseDuration } from "../../../src/config/duration.ts";
import { clientAuth, ManagementArgumentError } from "../../../src/management/commands.ts";
import { checkOidcConfig } from "../../../src/oidc/config_checks.ts";

const MINIMAL = MINIMAL_TOML;

// The shared loaders (tests/support/config_toml.ts), under this file's short names.
const load = parseTestConfig;
const issuesOf = configIssuesOf;

Deno.test("parseConfig() applies defaults to a minimal config", () => {
  const { config } = load(MINIMAL);
  assertEquals(config.servers[0]!.management, { kind: "unix", path: "/run/openvpn/mgmt.sock" });
  assertEquals(config.servers[0]!.authPendingTimeoutMs, 180_000);
  assertEquals(config.http.listen, { host: "127.0.0.1", port: 9000 });
  assertEquals(config.http.maxConnections, 256);
  assertEquals([config.http.headerTimeoutMs, config.http.idleTimeoutMs], [10_000, 10_000]);
  assertEquals(config.http.formActionOrigins, []);
  assertEquals(config.oidc.usernameClaim, "preferred_username");
  assertEquals(config.oidc.groupsClaim, "groups");
  assertEquals(config.oidc.clientAuthMethod, "client_secret_basic");
  assertEquals(config.sessions.lifetimeMs, 12 * 3_600_000);
  assertEquals(config.sessions.backend, "file");
  assertEquals(config.log, { level: "info", format: "text" });
  assert(config.oidc.clientSecret instanceof Secret);
  assertEquals(config.oidc.clientSecret.reveal(), "s3cret");
});

Deno.test("parseConfig() parses tcp management addresses and IPv6 listen addresses", () => {
  const { config } = load(
    MINIMAL.replace("unix:///run/openvpn/mgmt.sock", "tcp://127.0.0.1:7505") +
      '\n[log]\nlevel = "debug"\n',
    { OPENVPN_AUTH_OIDC_HTTP_LISTEN: "[::1]:8443" },
  );
  assertEquals(config.servers[0]!.management, { kind: "tcp", host: "127.0.0.1", port: 7505 });
  assertEquals(config.http.listen, { host: "::1", port: 8443 });
});

Deno.test("parseConfig() lets environment variables override every kind of key", () => {
  const { config } = load(MINIMAL, {
    OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMEOUT: "90s",
    OPENVPN_AUTH_OIDC_HTTP_CONFIRM_LOGIN: "false",
    OPENVPN_AUTH_OIDC_OIDC_SCOPES: '["openid", "offline_access"]',
    OPENVPN_AUTH_OIDC_OIDC_AUTHORIZE_PARAMS: '{ prompt = "login" }',
    OPENVPN_AUTH_OIDC_SESSIONS_MAX_ENTRIES: "42",
    OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "from-env",
  });
  assertEquals(config.servers[0]!.authPendingTimeoutMs, 90_000);
  assertEquals(config.http.confirmLogin, false);
  assertEquals(config.oidc.scopes, ["openid", "offline_access"]);
  assertEquals(config.oidc.authorizeParams, { prompt: "login" });
  assertEquals(config.sessions.maxEntries, 42);
  assertEquals(config.oidc.clientSecret?.reveal(), "from-env");
});

Deno.test("parseConfig() reads secrets from *_file keys, without the trailing newline", () => {
  const source = MINIMAL.replace('client_secret = "s3cret"', 'client_secret_file = "/run/secret"');
  const { config, printable } = load(source, {}, { "/run/secret": "from-file\n" });
  assertEquals(config.oidc.clientSecret?.reveal(), "from-file");
  assertEquals((printable["oidc"] as Record<string, unknown>)["client_secret"], "***");
});

Deno.test("parseConfig(): an environment variable overrides the file's secret or its _file, either way", () => {
  const fromFile = MINIMAL.replace(
    'client_secret = "s3cret"',
    'client_secret_file = "/run/secret"',
  );
  const files = { "/run/secret": "from-file\n", "/run/env-secret": "from-env-file\n" };
  // The example config names http.secret_file: OPENVPN_AUTH_OIDC_HTTP_SECRET still overrides it.
  const secretOverFile = load(
    fromFile,
    { OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "from-env" },
    files,
  );
  assertEquals(secretOverFile.config.oidc.clientSecret?.reveal(), "from-env");
  const fileOverSecret = load(MINIMAL, {
    OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE: "/run/env-secret",
  }, files);
  assertEquals(fileOverSecret.config.oidc.clientSecret?.reveal(), "from-env-file");
  // Both in the environment: as in the file, a conflict.
  assertThrows(
    () =>
      load(MINIMAL, {
        OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "a",
        OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET_FILE: "/run/env-secret",
      }, files),
    ConfigError,
    "Conflicting keys",
  );
});

Deno.test("parseConfig() prints durations and hides every secret in the printable copy", () => {
  const { printable } = load(MINIMAL);
  const text = JSON.stringify(printable);
  assert(!text.includes("s3cret"));
  assert(!text.includes("0123456789abcdef"));
  assertEquals((printable["openvpn"] as Record<string, unknown>)["auth_pending_timeout"], "3m");
});

Deno.test("parseConfig() compiles bypass_common_names as anchored regexes", () => {
  const { config } = load(MINIMAL.replace("[http]", 'bypass_common_names = ["site-.*"]\n[http]'));
  const [pattern] = config.servers[0]!.bypassCommonNames;
  assert(pattern?.test("site-berlin"));
  assert(!pattern?.test("evil-site-berlin"));
  assert(!pattern?.test("site-berlin\nx"));
});

Deno.test("parseConfig() accepts client_config rules with valid lines", () => {
  const { config } = load(
    MINIMAL + `
[[client_config]]
groups = ["/vpn-admins"]
lines = ['push "route 10.10.0.0 255.255.0.0"']
`,
  );
  assertEquals(config.clientConfig, [{
    groups: ["/vpn-admins"],
    lines: ['push "route 10.10.0.0 255.255.0.0"'],
  }]);
});

const ERROR_CASES: Array<{
  name: string;
  source: string;
  env?: Record<string, string>;
  expected: { path: string; message: string; line?: number };
}> = [
  {
    name: "a TOML syntax error with its line",
    source: MINIMAL + "\n[log\nlevel = 1\n",
    expected: {
      path: "(syntax)",
      message: "Invalid TOML document: illegal character in key",
      line: 14,
    },
  },
  {
    name: "an unknown key with a did-you-mean and its line",
    source: MINIMAL.replace('client_id = "openvpn"', 'client_id = "openvpn"\nclient_secrt = "x"'),
    expected: {
      path: "oidc.client_secrt",
      message: 'Unknown key (did you mean "client_secret"?)',
      line: 12,
    },
  },
  {
    name: "an unknown section",
    source: MINIMAL + '\n[sesions]\nbackend = "memory"\n',
    expected: { path: "sesions", message: 'Unknown key (did you mean "sessions"?)', line: 14 },
  },
  {
    name: "a key with an empty name, which leaves the path no last part",
    source: MINIMAL.replace("[http]", '"" = 1\n[http]'),
    expected: { path: "openvpn.", message: 'Unknown key "" (an empty name)', line: 5 },
  },
  {
    name: "a wrong type",
    source: MINIMAL + '\n[sessions]\nmax_entries = "many"\n',
    expected: {
      path: "sessions.max_entries",
      message: 'Expected an integer, got a string ("many")',
      line: 15,
    },
  },
  {
    name: "a bad duration",
    source: MINIMAL.replace("[http]", 'auth_pending_timeout = "3 minutes"\n[http]'),
    expected: {
      path: "openvpn.auth_pending_timeout",
      message: 'Expected a duration such as "90s", "3m" or "12h", got "3 minutes"',
      line: 5,
    },
  },
  {
    name: "a value outside its allowed set",
    source: MINIMAL + '\n[log]\nformat = "xml"\n',
    expected: {
      path: "log.format",
      message: 'Expected one of "text", "json", got "xml"',
      line: 15,
    },
  },
  {
    name: "a missing required key",
    source: MINIMAL.replace('client_id = "openvpn"\n', ""),
    expected: { path: "oidc.client_id", message: "Missing required key" },
  },
  {
    name: "conflicting secret and secret_file",
    source: MINIMAL.replace(
      'client_secret = "s3cret"',
      'client_secret = "a"\nclient_secret_file = "/x"',
    ),
    expected: {
      path: "oidc.client_secret",
      message: "Conflicting keys: set either client_secret or client_secret_file, not both",
      line: 12,
    },
  },
  {
    name: "an unreadable secret file",
    source: MINIMAL.replace('client_secret = "s3cret"', 'client_secret_file = "/missing"'),
    expected: {
      path: "oidc.client_secret_file",
      message: 'Cannot read /missing: ENOENT: no such file "/missing"',
      line: 12,
    },
  },
  {
    name: "plain http for a public base URL",
    source: MINIMAL.replace("https://vpn.example.com", "http://vpn.example.com"),
    expected: {
      path: "http.base_url",
      message:
        'The base URL must use https:// (http:// is allowed only for loopback hosts), got "http://vpn.example.com"',
      line: 6,
    },
  },
  {
    name: "a base URL too long for the WEB_AUTH limit",
    source: MINIMAL.replace(
      "https://vpn.example.com",
      `https://vpn.example.com/${"a".repeat(200)}`,
    ),
    expected: {
      path: "http.base_url",
      message:
        "Too long (224 characters): login URLs must fit OpenVPN's 246-character WEB_AUTH limit, so the base URL may have at most 202",
      line: 6,
    },
  },
  {
    name: "a short http secret",
    source: MINIMAL.replace("0123456789abcdef0123456789abcdef", "short"),
    expected: {
      path: "http.secret",
      message: "Too short: use at least 32 random characters (e.g. openssl rand -base64 48)",
      line: 7,
    },
  },
  {
    name: "the placeholder earlier examples shipped as http secret",
    source: MINIMAL.replace(
      "0123456789abcdef0123456789abcdef",
      "change-me-change-me-change-me-change-me",
    ),
    expected: {
      path: "http.secret",
      message: "A placeholder, not a secret: use random characters (e.g. openssl rand -base64 48)",
      line: 7,
    },
  },
  {
    name: "a bad management address",
    source: MINIMAL.replace("unix:///run/openvpn/mgmt.sock", "localhost:7505"),
    expected: {
      path: "openvpn.management",
      message: 'Expected "unix:///path/to/socket" or "tcp://host:port", got "localhost:7505"',
      line: 3,
    },
  },
  {
    name: "a secret auth method without a secret",
    source: MINIMAL.replace('client_secret = "s3cret"\n', ""),
    expected: {
      path: "oidc.client_secret",
      message:
        'Required when client_auth_method is "client_secret_basic" (or set client_secret_file)',
    },
  },
  {
    name: "an invalid bypass regex",
    source: MINIMAL.replace("[http]", 'bypass_common_names = ["("]\n[http]'),
    expected: {
      path: "openvpn.bypass_common_names[0]",
      message: "Invalid regular expression: Invalid regular expression: /(/: Unterminated group",
      line: 5,
    },
  },
  {
    name: "a reserved authorize parameter",
    source: MINIMAL + '\n[oidc.authorize_params]\nredirect_uri = "https://evil.example"\n',
    expected: {
      path: "oidc.authorize_params.redirect_uri",
      message: "Set by the bridge itself; it cannot be overridden",
      line: 15,
    },
  },
  {
    // Sent as Prompt=login, which the IdP ignores: no forced re-login, and no auth_time check.
    name: "an authorize parameter that is a standard one in another case",
    source: MINIMAL + '\n[oidc.authorize_params]\nPrompt = "login"\n',
    expected: {
      path: "oidc.authorize_params.Prompt",
      message: 'Parameter names are case-sensitive: write "prompt" (the IdP ignores "Prompt")',
      line: 15,
    },
  },
  {
    name: "a client_config line with a newline",
    source: MINIMAL +
      '\n[[client_config]]\ngroups = ["/a"]\nlines = ["push \\"route 10.0.0.0 255.0.0.0\\"\\nEND"]\n',
    expected: {
      path: "client_config[0].lines[0]",
      message: "Invalid client config line: control characters (CR, LF, NUL, ...) are not allowed",
      line: 16,
    },
  },
  {
    // OpenVPN 2.7.6 would ignore it with one log line, and the client keep the server's timers.
    name: "a client_config ping-restart of more than a day",
    source: MINIMAL + '\n[[client_config]]\ngroups = ["/a"]\nlines = ["ping-restart 90000"]\n',
    expected: {
      path: "client_config[0].lines[0]",
      message: 'Directive "ping-restart" takes one number of seconds from 0 to 86400: ' +
        "OpenVPN 2.7 ignores any other value",
      line: 16,
    },
  },
  {
    name: "a malformed group path",
    source: MINIMAL + '\n[authorization]\nallowed_groups = ["/staff/"]\n',
    expected: {
      path: "authorization.allowed_groups[0]",
      message: 'Group path ends with "/": "/staff/"',
      line: 15,
    },
  },
  {
    name: "a required claim with an unusable value",
    source: MINIMAL + "\n[authorization.required_claims]\nemail_verified = []\n",
    expected: {
      path: "authorization.required_claims.email_verified",
      message: 'Required claim "email_verified" lists no values',
      line: 15,
    },
  },
  {
    name: "a session encryption key of the wrong size",
    source: MINIMAL + '\n[sessions]\nencryption_key = "c2hvcnQ="\n',
    expected: {
      path: "sessions.encryption_key",
      message:
        "Invalid sessions.encryption_key: expected 32 bytes as base64 (44 characters) or as 64 hex characters, got 8 characters",
      line: 15,
    },
  },
  {
    name: "an environment variable of the wrong type",
    source: MINIMAL,
    env: { OPENVPN_AUTH_OIDC_HTTP_CONFIRM_LOGIN: "yes" },
    expected: {
      path: "http.confirm_login",
      message:
        'Expected true or false, got a string ("yes") (from OPENVPN_AUTH_OIDC_HTTP_CONFIRM_LOGIN)',
    },
  },
  {
    name: "a form-action origin that is not an http(s) URL",
    source: MINIMAL,
    env: { OPENVPN_AUTH_OIDC_HTTP_FORM_ACTION_ORIGINS: '["https://ok.example", "javascript:x"]' },
    expected: {
      path: "http.form_action_origins[1]",
      message:
        'Expected an http(s) URL, got "javascript:x" (from OPENVPN_AUTH_OIDC_HTTP_FORM_ACTION_ORIGINS)',
    },
  },
  {
    name: "a trusted proxy range that is no range (an IPv4-mapped prefix reaching past IPv4)",
    source: MINIMAL,
    env: {
      OPENVPN_AUTH_OIDC_HTTP_TRUSTED_PROXIES: '["::ffff:192.0.2.0/120", "::ffff:192.0.2.0/64"]',
    },
    expected: {
      path: "http.trusted_proxies[1]",
      message:
        'Expected an IP address or CIDR range (an IPv4-mapped range needs /96 or more), got "::ffff:192.0.2.0/64" (from OPENVPN_AUTH_OIDC_HTTP_TRUSTED_PROXIES)',
    },
  },
  {
    name: "an HTTP header timeout under a second",
    source: MINIMAL,
    env: { OPENVPN_AUTH_OIDC_HTTP_HEADER_TIMEOUT: "500ms" },
    expected: {
      path: "http.header_timeout",
      message:
        'Expected a duration from 1s to 1h, got "500ms" (from OPENVPN_AUTH_OIDC_HTTP_HEADER_TIMEOUT)',
    },
  },
  ...([
    ["SESSIONS_SWEEP_INTERVAL", "0s", "sessions.sweep_interval", "100ms to 1d"],
    ["SESSIONS_SWEEP_INTERVAL", "30d", "sessions.sweep_interval", "100ms to 1d"],
    ["OPENVPN_COMMAND_TIMEOUT", "0s", "openvpn.command_timeout", "100ms to 10m"],
    ["OPENVPN_RECONNECT_MAX_DELAY", "0s", "openvpn.reconnect_max_delay", "100ms to 1h"],
    ["HTTP_IDLE_TIMEOUT", "25d", "http.idle_timeout", "1s to 1h"],
    ["SESSIONS_LIFETIME", "0s", "sessions.lifetime", "1m to 366d"],
  ] as const).map(([variable, value, path, range]) => ({
    name: `${path} = "${value}", which no timer can honour`,
    source: MINIMAL,
    env: { [`OPENVPN_AUTH_OIDC_${variable}`]: value },
    expected: {
      path,
      message:
        `Expected a duration from ${range}, got "${value}" (from OPENVPN_AUTH_OIDC_${variable})`,
    },
  })),
  {
    name: "an IdP timeout past what a timer can wait",
    source: MINIMAL,
    env: { OPENVPN_AUTH_OIDC_OIDC_HTTP_TIMEOUT: "30d" },
    expected: {
      path: "oidc.http_timeout",
      message:
        'Expected a duration from 1ms to 10m, got "30d" (from OPENVPN_AUTH_OIDC_OIDC_HTTP_TIMEOUT)',
    },
  },
  {
    name: "a clock tolerance that would accept tokens long expired",
    source: MINIMAL,
    env: { OPENVPN_AUTH_OIDC_OIDC_CLOCK_TOLERANCE: "1h" },
    expected: {
      path: "oidc.clock_tolerance",
      message:
        'Expected a duration from 0s to 10m, got "1h" (from OPENVPN_AUTH_OIDC_OIDC_CLOCK_TOLERANCE)',
    },
  },
];

for (const { name, source, env, expected } of ERROR_CASES) {
  Deno.test(`parseConfig() reports ${name}`, () => {
    const issues = issuesOf(source, env);
    assertEquals(issues, [expected]);
  });
}

Deno.test("parseConfig() lists every problem at once", () => {
  const issues = issuesOf(
    MINIMAL.replace('client_id = "openvpn"\n', "") + '\n[log]\nformat = "xml"\n',
  );
  assertEquals(issues.map((issue) => issue.path), ["oidc.client_id", "log.format"]);
});

Deno.test("ConfigError message names the file, key path and line", () => {
  const error = assertThrows(() => load(MINIMAL + '\n[log]\nformat = "xml"\n'), ConfigError);
  assertStringIncludes(error.message, "Invalid configuration in test.toml:");
  assertStringIncludes(
    error.message,
    'log.format (line 15): Expected one of "text", "json", got "xml"',
  );
});

Deno.test("parseConfig() never echoes a wrongly typed secret", () => {
  const error = assertThrows(
    () => load(MINIMAL.replace('client_secret = "s3cret"', "client_secret = 987654321")),
    ConfigError,
  );
  assert(!error.message.includes("987654321"));
});

Deno.test("parseDuration() accepts combined units and refuses bare numbers", () => {
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("250ms"), 250);
  assertEquals(parseDuration("90"), undefined);
  assertEquals(parseDuration("-5s"), undefined);
  assertEquals(parseDuration(""), undefined);
});

Deno.test("parseConfig() refuses a client_config line the client-auth command could not send", () => {
  // 254 bytes is the most OpenVPN reads whole; 255 and 256 bytes used to pass check-config while
  // every client-auth with the line was refused, so the group's logins failed without a deny.
  const line = (bytes: number) => `push "${"a".repeat(bytes - 7)}"`;
  const withLine = (text: string) =>
    `${MINIMAL}\n[[client_config]]\ngroups = ["/vpn"]\nlines = [${JSON.stringify(text)}]\n`;
  const fits = load(withLine(line(254))).config.clientConfig[0]!.lines[0]!;
  assertEquals(clientAuth(0, 1, [fits]).text.split("\n")[1], fits);
  for (const bytes of [255, 256]) {
    assertThrows(() => clientAuth(0, 1, [line(bytes)]), ManagementArgumentError);
    const issues = issuesOf(withLine(line(bytes)));
    assertEquals(issues.map((issue) => issue.path), ["client_config[0].lines[0]"]);
    assertStringIncludes(issues[0]!.message, `too long (${bytes} bytes)`);
  }
});

Deno.test("parseConfig() and the OIDC client agree on which hosts are loopback", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "127.1.2.3", "localhost", "[::1]"]) {
    const { config } = load(
      MINIMAL.replace("https://sso.example.com", `http://${host}:8180`)
        .replace("https://vpn.example.com", `http://${host}:9000`),
    );
    assertEquals(checkOidcConfig(config.oidc), [], host);
    assertEquals(config.http.baseUrl.hostname, host);
  }
  for (const host of ["128.0.0.1", "127.0.0.1.example.com", "localhost.example.com", "[::2]"]) {
    const issues = issuesOf(MINIMAL.replace("https://sso.example.com", `http://${host}:8180`));
    assertEquals(issues.map((issue) => issue.path), ["oidc.issuer"], host);
  }
});

Deno.test("parseConfig() keeps auth_pending_timeout within 10s to 1h", () => {
  const withTimeout = (text: string) =>
    MINIMAL.replace("[http]", `auth_pending_timeout = "${text}"\n[http]`);
  assertEquals(load(withTimeout("10s")).config.servers[0]!.authPendingTimeoutMs, 10_000);
  assertEquals(load(withTimeout("1h")).config.servers[0]!.authPendingTimeoutMs, 3_600_000);
  assertEquals(issuesOf(withTimeout("9s")), [{
    path: "openvpn.auth_pending_timeout",
    message: 'Expected a duration from 10s to 1h, got "9s"',
    line: 5,
  }]);
});

Deno.test("parseConfig() refuses a management password the login line could not carry", () => {
  const withPassword = (password: string) =>
    MINIMAL.replace("[http]", `password = ${JSON.stringify(password)}\n[http]`);
  assertEquals(
    load(withPassword("x".repeat(767))).config.servers[0]!.password?.reveal().length,
    767,
  );
  const issues = issuesOf(withPassword("x".repeat(768)));
  assertEquals(issues.map((issue) => issue.path), ["openvpn.password"]);
  assert(!issues[0]!.message.includes("xxxx"));
});

Deno.test("parseConfig() wants a password for a management interface on another host, not for loopback", () => {
  const tcp = (address: string, password = "") =>
    MINIMAL.replace("unix:///run/openvpn/mgmt.sock", `tcp://${address}`)
      .replace("[http]", `${password}\n[http]`);
  assertEquals(issuesOf(tcp("10.0.0.5:7505")).map(({ path, message }) => ({ path, message })), [{
    path: "openvpn.password",
    message: "Required (password_file) for a management interface on another host " +
      "(tcp://10.0.0.5:7505): without one, anyone who can reach that port can let any client in",
  }]);
  assertEquals(issuesOf(tcp("vpn.internal:7505")).map((issue) => issue.path), ["openvpn.password"]);
  assertEquals(issuesOf(tcp("[fd00::5]:7505")).map((issue) => issue.path), ["openvpn.password"]);
  const withPassword = load(tcp("10.0.0.5:7505", 'password_file = "/etc/m"'), {}, {
    "/etc/m": "pw",
  });
  assertEquals(withPassword.config.servers[0]!.password?.reveal(), "pw");
  for (const loopback of ["127.0.0.1:7505", "127.3.2.1:7505", "localhost:7505", "[::1]:7505"]) {
    assertEquals(load(tcp(loopback)).config.servers[0]!.password, undefined, loopback);
  }
});

Deno.test("parseConfig() refuses metrics.listen on http.listen's socket (the start would fail with EADDRINUSE)", () => {
  const metrics = (listen: string, http = "") =>
    MINIMAL.replace("[http]", `[http]\n${http}`) + `[metrics]\nlisten = "${listen}"\n`;
  assertEquals(
    issuesOf(metrics("127.0.0.1:9000")).map(({ path, message }) => ({ path, message })),
    [{
      path: "metrics.listen",
      message: "Same address as http.listen (127.0.0.1:9000): use another port",
    }],
  );
  assertEquals(
    issuesOf(metrics("127.0.0.1:9443", 'listen = "0.0.0.0:9443"')).map((i) => i.path),
    ["metrics.listen"],
  );
  assertEquals(issuesOf(metrics("[::]:9000")).map((i) => i.path), ["metrics.listen"]);
  assertEquals(load(metrics("127.0.0.1:9101")).config.metrics.listen?.port, 9101);
  assertEquals(load(metrics("127.0.0.2:9000")).config.metrics.listen?.host, "127.0.0.2");
});

Deno.test("mergeReload() takes live keys from the new config and names the rest", () => {
  const old = load(MINIMAL + `[authorization]\nallowed_groups = ["a"]\n`).config;
  const { config: next } = load(
    MINIMAL +
      `[authorization]\nallowed_groups = ["b"]\n[log]\nlevel = "debug"\n[metrics]\nlisten = "127.0.0.1:9101"\n`,
  );
  next.servers[0]!.management = { kind: "tcp", host: "127.0.0.1", port: 7505 };
  const { config, kept } = mergeReload(old, {
    ...next,
    sessions: { ...next.sessions, backend: "memory" },
    http: {
      ...next.http,
      secret: old.http.secret,
      templatesDir: "/etc/t",
      baseUrl: new URL("https://other.example.com"),
    },
  });
  assertEquals(kept, ["openvpn.management", "http.base_url", "sessions.backend"]);
  assertEquals(config.authorization.allowedGroups, ["b"]);
  assertEquals(config.log.level, "debug");
  assertEquals(config.metrics.listen, { host: "127.0.0.1", port: 9101 });
  assertEquals(config.http.templatesDir, "/etc/t");
  assertEquals(config.servers[0]!.management, old.servers[0]!.management);
  assertEquals(config.http.baseUrl.href, "https://vpn.example.com/");
  assertEquals(config.sessions.backend, "file");
});

Deno.test("mergeReload() names a changed secret without showing it", () => {
  const old = load(MINIMAL).config;
  const next = load(MINIMAL).config;
  const changed = { ...next, oidc: { ...next.oidc, clientSecret: { reveal: () => "other" } } };
  const { kept } = mergeReload(old, changed as typeof next);
  assertEquals(kept, ["oidc.client_secret"]);
});

Deno.test("mergeReload() names a changed secret nested in a section (the Redis password), without showing it", () => {
  const redis = (password: string) =>
    MINIMAL +
    `\n[sessions]\nbackend = "redis"\nurl = "redis://127.0.0.1:6379/0"\npassword = "${password}"\n`;
  const { kept } = mergeReload(load(redis("first-password")).config, load(redis("rotated")).config);
  assertEquals(kept, ["sessions.password"]);
  assertEquals(
    mergeReload(load(redis("same")).config, load(redis("same")).config).kept,
    [],
  );
});

Deno.test("mergeReload() of an unchanged config keeps nothing", () => {
  assertEquals(mergeReload(load(MINIMAL).config, load(MINIMAL).config).kept, []);
});

Deno.test("parseConfig() keeps oidc.max_open_requests within 2 to 1024, 32 by default (README)", () => {
  assertEquals(load(MINIMAL).config.oidc.maxOpenRequests, 32);
  const withLimit = (value: string) =>
    MINIMAL.replace("[oidc]", `[oidc]\nmax_open_requests = ${value}`);
  assertEquals(load(withLimit("2")).config.oidc.maxOpenRequests, 2);
  assertEquals(load(withLimit("1024")).config.oidc.maxOpenRequests, 1024);
  for (const refused of ["1", "1025", "2.5"]) {
    const issues = issuesOf(withLimit(refused));
    assertEquals(issues.map((issue) => issue.path), ["oidc.max_open_requests"], refused);
  }
});

Deno.test("parseConfig() refuses allowed_roles without oidc.roles_claim (every user would be refused), an empty role, and a client_config group that can never match", () => {
  const withAuthorization = (lines: string) => MINIMAL + `[authorization]\n${lines}\n`;
  assertEquals(
    issuesOf(withAuthorization('allowed_roles = ["vpn"]')).map(({ path, message }) => ({
      path,
      message,
    })),
    [{
      path: "authorization.allowed_roles",
      message:
        'Needs oidc.roles_claim, the claim roles are read from (Keycloak: "realm_access.roles")',
    }],
  );
  const withRolesClaim = (lines: string) =>
    withAuthorization(lines).replace("[oidc]", '[oidc]\nroles_claim = "realm_access.roles"');
  assertEquals(
    load(withRolesClaim('allowed_roles = ["vpn"]')).config.authorization.allowedRoles,
    ["vpn"],
  );
  assertEquals(
    issuesOf(withRolesClaim('allowed_roles = ["vpn", ""]')).map((i) => i.path),
    ["authorization.allowed_roles[1]"],
  );
  const rule = (group: string) =>
    MINIMAL +
    `[[client_config]]\ngroups = ["/staff", ${
      JSON.stringify(group)
    }]\nlines = ['push "route 10.9.0.0 255.255.0.0"']\n`;
  assertEquals(load(rule("/contractors")).config.clientConfig[0]!.groups, [
    "/staff",
    "/contractors",
  ]);
  for (const group of ["/contractors/", " /contractors"]) {
    assertEquals(issuesOf(rule(group)).map((i) => i.path), ["client_config[0].groups[1]"], group);
  }
});
