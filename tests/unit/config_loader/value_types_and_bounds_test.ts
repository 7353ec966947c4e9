/**
 * The checker's type and range rules at their edges: a bound is inclusive to the millisecond,
 * an integer from the environment is the whole variable or nothing, a TOML date is no table
 * and an empty `[[openvpn]]` list is no server list.
 */
import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import { formatDuration, parseDuration } from "../../../src/config/duration.ts";

/** MINIMAL_TOML with these `[sessions]` lines. */
const withSessions = (lines: string) => `${MINIMAL_TOML}\n[sessions]\n${lines}\n`;
/** MINIMAL_TOML with these lines at the end of its `[oidc]` section, from line 13. */
const withOidc = (lines: string) => `${MINIMAL_TOML}${lines}\n`;

Deno.test("parseConfig() keeps a duration within its bounds to the millisecond", () => {
  // recheck_interval's floor keeps the IdP from being polled in a loop.
  const { sessions } = parseTestConfig(
    withSessions('recheck_interval = "10s"\nlifetime = "366d"'),
  ).config;
  assertEquals([sessions.recheckIntervalMs, sessions.lifetimeMs], [10_000, 366 * 86_400_000]);
  assertEquals(configIssuesOf(withSessions('recheck_interval = "9999ms"')), [{
    path: "sessions.recheck_interval",
    message: 'Expected a duration from 10s to 7d, got "9999ms"',
    line: 15,
  }]);
  assertEquals(configIssuesOf(withSessions('lifetime = "366d1ms"')), [{
    path: "sessions.lifetime",
    message: 'Expected a duration from 1m to 366d, got "366d1ms"',
    line: 15,
  }]);
});

Deno.test("parseConfig() bounds oidc.http_timeout, oidc.clock_tolerance and sessions.store_timeout as every schema key, to the millisecond", () => {
  const cases = [
    [withOidc('http_timeout = "20m"'), "oidc.http_timeout", "1ms to 10m", "20m", 13],
    [withOidc('clock_tolerance = "10m1s"'), "oidc.clock_tolerance", "0s to 10m", "10m1s", 13],
    [withSessions('store_timeout = "31s"'), "sessions.store_timeout", "10ms to 30s", "31s", 15],
    [withSessions('store_timeout = "9ms"'), "sessions.store_timeout", "10ms to 30s", "9ms", 15],
  ] as const;
  for (const [source, path, range, value, line] of cases) {
    assertEquals(configIssuesOf(source), [{
      path,
      message: `Expected a duration from ${range}, got "${value}"`,
      line,
    }]);
  }
  const { oidc } = parseTestConfig(withOidc('http_timeout = "10m"\nclock_tolerance = "10m"'))
    .config;
  assertEquals([oidc.httpTimeoutMs, oidc.clockToleranceSec], [600_000, 600]);
});

Deno.test("parseConfig() refuses an oidc.clock_tolerance that is not whole seconds, which it was rounded to", () => {
  // Rounded, "400ms" was silently no tolerance and "10m400ms" passed the 10m bound as 600 s.
  for (const value of ["400ms", "10m400ms", "1s500ms"]) {
    const issues = configIssuesOf(withOidc(`clock_tolerance = "${value}"`));
    assertEquals(issues.map(({ path, line }) => ({ path, line })), [{
      path: "oidc.clock_tolerance",
      line: 13,
    }], value);
  }
  assertEquals(
    configIssuesOf(withOidc('clock_tolerance = "1500ms"'))[0]!.message,
    'Expected whole seconds, got "1500ms"',
  );
  const { oidc } = parseTestConfig(withOidc('clock_tolerance = "2000ms"')).config;
  assertEquals(oidc.clockToleranceSec, 2);
});

Deno.test("parseConfig() refuses an integer variable with anything after the digits", () => {
  for (const text of ["100x", "1e3", "12 ", "0x10"]) {
    assertEquals(
      configIssuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_HTTP_MAX_CONNECTIONS: text }),
      [{
        path: "http.max_connections",
        message: `Expected an integer, got a string (${JSON.stringify(text)}) ` +
          "(from OPENVPN_AUTH_OIDC_HTTP_MAX_CONNECTIONS)",
      }],
      text,
    );
  }
});

Deno.test("parseConfig() refuses a TOML date where a table belongs", () => {
  // A date has no keys: read as a table, required_claims would require nothing.
  const source = `${MINIMAL_TOML}\n[authorization]\nrequired_claims = 2024-01-01\n`;
  assertEquals(configIssuesOf(source), [{
    path: "authorization.required_claims",
    message: "Expected a table, got a date",
    line: 15,
  }]);
});

Deno.test("parseConfig() refuses an empty list of servers", () => {
  const source = MINIMAL_TOML.replace(
    '[openvpn]\nmanagement = "unix:///run/openvpn/mgmt.sock"',
    "openvpn = []",
  );
  assertEquals(configIssuesOf(source), [{
    path: "openvpn",
    message: "Expected a table ([openvpn]) or tables ([[openvpn]]), got an array",
  }]);
});

Deno.test("parseDuration() refuses text before or after the units", () => {
  for (const text of ["90sx", "1h30", "90s ", "x90s", "1h 30m", "90S"]) {
    assertEquals(parseDuration(text), undefined, text);
  }
  assertEquals(parseDuration("1d2h3m4s5ms"), 93_784_005);
});

Deno.test("parseDuration() refuses a duration past the safe integers, which keys without a bound take", () => {
  assertEquals(parseDuration("104249991d"), 104_249_991 * 86_400_000);
  for (const text of ["104249992d", "99999999999999999999ms", `${"9".repeat(400)}s`]) {
    assertEquals(parseDuration(text), undefined, text);
  }
});

Deno.test("formatDuration() prints what parseDuration() reads back, zero included", () => {
  // check-config prints the config: `clock_tolerance = "0s"` must not come out as "".
  for (const ms of [0, 1, 999, 1000, 90_000, 5_400_000, 86_400_000, 93_784_005]) {
    assertEquals(parseDuration(formatDuration(ms)), ms, String(ms));
  }
  assertEquals(formatDuration(0), "0s");
});

Deno.test("parseConfig() keeps sessions.max_per_user within 0 (no limit) to 1000", () => {
  assertEquals(parseTestConfig(withSessions("max_per_user = 0")).config.sessions.maxPerUser, 0);
  assertEquals(configIssuesOf(withSessions("max_per_user = -1")), [{
    path: "sessions.max_per_user",
    message: "Expected an integer from 0 to 1000, got -1",
    line: 15,
  }]);
});

Deno.test("parseConfig() keeps http.max_connections within 1 to 100000", () => {
  const withLimit = (n: number) =>
    MINIMAL_TOML.replace("[http]\n", `[http]\nmax_connections = ${n}\n`);
  assertEquals(parseTestConfig(withLimit(1)).config.http.maxConnections, 1);
  assertEquals(parseTestConfig(withLimit(100_000)).config.http.maxConnections, 100_000);
  for (const n of [0, 100_001]) {
    assertEquals(configIssuesOf(withLimit(n)), [{
      path: "http.max_connections",
      message: `Expected an integer from 1 to 100000, got ${n}`,
      line: 6,
    }]);
  }
});

Deno.test("parseConfig() reads openvpn.max_pending_per_address: 32 by default, 0 turns it off, no negative", () => {
  const withCap = (line: string) => MINIMAL_TOML.replace('mgmt.sock"\n', `mgmt.sock"\n${line}\n`);
  assertEquals(parseTestConfig(MINIMAL_TOML).config.servers[0]!.maxPendingPerAddress, 32);
  for (const cap of [0, 5]) {
    const { servers } = parseTestConfig(withCap(`max_pending_per_address = ${cap}`)).config;
    assertEquals(servers[0]!.maxPendingPerAddress, cap);
  }
  assertEquals(configIssuesOf(withCap("max_pending_per_address = -1")), [{
    path: "openvpn.max_pending_per_address",
    message: "Expected an integer from 0 to 100000, got -1",
    line: 4,
  }]);
});
