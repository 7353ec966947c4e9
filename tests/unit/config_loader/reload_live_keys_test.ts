/**
 * README, "Reload, metrics and audit log": on SIGHUP these change live: `[authorization]`,
 * `[[client_config]]`, the claim names, `openvpn.bypass_common_names`, `auth_pending_timeout`
 * and `username_policy`, the pages (`templates_dir`, `default_language`, `confirm_login`,
 * `trusted_proxies`), the TLS certificate and key, `[log]` and `[metrics]` (a test below holds
 * that list to what mergeReload takes live). "Other keys (management address and password,
 * `[sessions]`, `[oidc]` client settings, `base_url`, `secret`, `http.listen`) keep their old
 * value until a restart and are named in a warning": the warning names what `mergeReload`
 * returns in `kept`.
 *
 * Each case loads a full base config and the same file with one key changed, merges them as a
 * reload does, and checks the merged config: a live key carries the new value and is not named;
 * a restart-only key keeps the old value and is named.
 */
import { assert, assertEquals, assertNotEquals } from "../../support/assert.ts";
import { parseInlineToml } from "../../support/config_toml.ts";
import { mergeReload } from "../../../src/config/live.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import {
  acceptedKeys,
  SCHEMA,
  type SectionSpec,
  SERVER_SPEC,
  SERVER_TABLES,
} from "../../../src/config_loader/schema.ts";

const BASE = `
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"
password = "management-pw-1"
auth_pending_timeout = "3m"
bypass_common_names = ["^site-a$"]
username_policy = "empty_or_match"
web_auth_flags = []
command_timeout = "10s"
reconnect_max_delay = "30s"

[http]
listen = "127.0.0.1:9000"
base_url = "https://vpn.example.com"
secret = "0123456789abcdef0123456789abcdef"
tls_cert_file = "/etc/openvpn-auth-oidc/a.crt"
tls_key_file = "/etc/openvpn-auth-oidc/a.key"
trusted_proxies = ["10.0.0.1"]
confirm_login = true
check_client_ip = false
templates_dir = "/etc/openvpn-auth-oidc/templates-a"
default_language = "en"
form_action_origins = []
max_connections = 256

[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"
scopes = ["openid", "profile"]
username_claim = "preferred_username"
groups_claim = "groups"
roles_claim = "realm_access.roles"

[authorization]
allowed_groups = ["/vpn-users"]
allowed_roles = ["vpn"]
common_name_claim = "preferred_username"

[authorization.required_claims]
email_verified = true

[[client_config]]
groups = ["/vpn-users"]
lines = ['push "route 10.10.0.0 255.255.0.0"']

[sessions]
backend = "memory"
lifetime = "12h"
reauth_check = "none"

[log]
level = "info"
format = "text"

[metrics]
listen = "127.0.0.1:9101"
`;

interface Change {
  /** The key as the README and the reload warning name it. */
  key: string;
  /** A line of BASE and what the changed file has instead. */
  from: string;
  to: string;
  /** Where the key sits in a resolved config. */
  read: (config: ResolvedConfig) => unknown;
}

const LIVE: Change[] = [
  {
    key: "openvpn.auth_pending_timeout",
    from: 'auth_pending_timeout = "3m"',
    to: 'auth_pending_timeout = "90s"',
    read: (c) => c.servers[0]!.authPendingTimeoutMs,
  },
  {
    key: "openvpn.bypass_common_names",
    from: 'bypass_common_names = ["^site-a$"]',
    to: 'bypass_common_names = ["^site-b$", "^site-c$"]',
    read: (c) => c.servers[0]!.bypassCommonNames.map((pattern) => pattern.source),
  },
  {
    key: "openvpn.username_policy",
    from: 'username_policy = "empty_or_match"',
    to: 'username_policy = "match"',
    read: (c) => c.servers[0]!.usernamePolicy,
  },
  {
    key: "openvpn.web_auth_flags",
    from: "web_auth_flags = []",
    to: 'web_auth_flags = ["external"]',
    read: (c) => c.servers[0]!.webAuthFlags,
  },
  {
    key: "oidc.username_claim",
    from: 'username_claim = "preferred_username"',
    to: 'username_claim = "email"',
    read: (c) => c.oidc.usernameClaim,
  },
  {
    key: "oidc.groups_claim",
    from: 'groups_claim = "groups"',
    to: 'groups_claim = "vpn_groups"',
    read: (c) => c.oidc.groupsClaim,
  },
  {
    key: "oidc.roles_claim",
    from: 'roles_claim = "realm_access.roles"',
    to: 'roles_claim = "resource_access.openvpn.roles"',
    read: (c) => c.oidc.rolesClaim,
  },
  {
    key: "authorization.allowed_groups",
    from: 'allowed_groups = ["/vpn-users"]',
    to: 'allowed_groups = ["/staff/vpn-admins"]',
    read: (c) => [c.authorization.allowedGroups, c.servers[0]!.authorization.allowedGroups],
  },
  {
    key: "authorization.allowed_roles",
    from: 'allowed_roles = ["vpn"]',
    to: 'allowed_roles = ["vpn-admin"]',
    read: (c) => [c.authorization.allowedRoles, c.servers[0]!.authorization.allowedRoles],
  },
  {
    key: "authorization.common_name_claim",
    from: 'common_name_claim = "preferred_username"',
    to: 'common_name_claim = "email"',
    read: (c) => [c.authorization.commonNameClaim, c.servers[0]!.authorization.commonNameClaim],
  },
  {
    key: "authorization.required_claims",
    from: "email_verified = true",
    to: 'department = "it"',
    read: (c) => [c.authorization.requiredClaims, c.servers[0]!.authorization.requiredClaims],
  },
  {
    key: "client_config",
    from: `lines = ['push "route 10.10.0.0 255.255.0.0"']`,
    to: `lines = ['push "route 10.20.0.0 255.255.0.0"']`,
    read: (c) => [c.clientConfig, c.servers[0]!.clientConfig],
  },
  {
    key: "http.templates_dir",
    from: 'templates_dir = "/etc/openvpn-auth-oidc/templates-a"',
    to: 'templates_dir = "/etc/openvpn-auth-oidc/templates-b"',
    read: (c) => c.http.templatesDir,
  },
  {
    key: "http.default_language",
    from: 'default_language = "en"',
    to: 'default_language = "de"',
    read: (c) => c.http.defaultLanguage,
  },
  {
    key: "http.confirm_login",
    from: "confirm_login = true",
    to: "confirm_login = false",
    read: (c) => c.http.confirmLogin,
  },
  {
    key: "http.trusted_proxies",
    from: 'trusted_proxies = ["10.0.0.1"]',
    to: 'trusted_proxies = ["10.0.0.0/8", "192.0.2.1"]',
    read: (c) => c.http.trustedProxies,
  },
  {
    key: "http.tls_cert_file and http.tls_key_file",
    from:
      'tls_cert_file = "/etc/openvpn-auth-oidc/a.crt"\ntls_key_file = "/etc/openvpn-auth-oidc/a.key"',
    to:
      'tls_cert_file = "/etc/openvpn-auth-oidc/b.crt"\ntls_key_file = "/etc/openvpn-auth-oidc/b.key"',
    read: (c) => [c.http.tlsCertFile, c.http.tlsKeyFile],
  },
  {
    key: "log.level",
    from: 'level = "info"',
    to: 'level = "debug"',
    read: (c) => c.log.level,
  },
  {
    key: "log.format",
    from: 'format = "text"',
    to: 'format = "json"',
    read: (c) => c.log.format,
  },
  {
    key: "metrics.listen",
    from: 'listen = "127.0.0.1:9101"',
    to: 'listen = "127.0.0.1:9102"',
    read: (c) => c.metrics.listen,
  },
];

const RESTART_ONLY: Change[] = [
  {
    key: "openvpn.management",
    from: 'management = "unix:///run/openvpn/mgmt.sock"',
    to: 'management = "tcp://127.0.0.1:7505"',
    read: (c) => c.servers[0]!.management,
  },
  {
    key: "openvpn.password",
    from: 'password = "management-pw-1"',
    to: 'password = "management-pw-2"',
    read: (c) => c.servers[0]!.password?.reveal(),
  },
  {
    key: "openvpn.command_timeout",
    from: 'command_timeout = "10s"',
    to: 'command_timeout = "20s"',
    read: (c) => c.servers[0]!.commandTimeoutMs,
  },
  {
    key: "http.listen",
    from: 'listen = "127.0.0.1:9000"',
    to: 'listen = "127.0.0.1:9001"',
    read: (c) => c.http.listen,
  },
  {
    key: "http.base_url",
    from: 'base_url = "https://vpn.example.com"',
    to: 'base_url = "https://vpn2.example.com"',
    read: (c) => c.http.baseUrl.href,
  },
  {
    key: "http.secret",
    from: 'secret = "0123456789abcdef0123456789abcdef"',
    to: 'secret = "fedcba9876543210fedcba9876543210"',
    read: (c) => c.http.secret.reveal(),
  },
  {
    key: "http.check_client_ip",
    from: "check_client_ip = false",
    to: "check_client_ip = true",
    read: (c) => c.http.checkClientIp,
  },
  {
    key: "oidc.issuer",
    from: 'issuer = "https://sso.example.com/realms/vpn"',
    to: 'issuer = "https://sso.example.com/realms/other"',
    read: (c) => c.oidc.issuer.href,
  },
  {
    key: "oidc.client_id",
    from: 'client_id = "openvpn"',
    to: 'client_id = "openvpn-2"',
    read: (c) => c.oidc.clientId,
  },
  {
    key: "oidc.client_secret",
    from: 'client_secret = "s3cret"',
    to: 'client_secret = "rotated"',
    read: (c) => c.oidc.clientSecret?.reveal(),
  },
  {
    key: "oidc.scopes",
    from: 'scopes = ["openid", "profile"]',
    to: 'scopes = ["openid", "profile", "offline_access"]',
    read: (c) => c.oidc.scopes,
  },
  {
    key: "sessions.lifetime",
    from: 'lifetime = "12h"',
    to: 'lifetime = "8h"',
    read: (c) => c.sessions.lifetimeMs,
  },
  {
    key: "sessions.reauth_check",
    from: 'reauth_check = "none"',
    to: 'reauth_check = "refresh"',
    read: (c) => c.sessions.reauthCheck,
  },
];

/** BASE with `from` replaced by `to` (each exactly once in BASE). */
function changed(base: string, changes: readonly Change[]): string {
  let text = base;
  for (const { key, from, to } of changes) {
    assert(text.split(from).length === 2, `${key}: "${from}" is not in the base config once`);
    text = text.replace(from, to);
  }
  return text;
}

function reload(changes: readonly Change[], base = BASE) {
  const old = parseInlineToml(base).config;
  const next = parseInlineToml(changed(base, changes)).config;
  return { old, next, ...mergeReload(old, next) };
}

Deno.test("reload: the base config merged with itself keeps nothing", () => {
  assertEquals(reload([]).kept, []);
});

for (const change of LIVE) {
  Deno.test(`reload: ${change.key} changes live (README)`, () => {
    const { old, next, config, kept } = reload([change]);
    assertNotEquals(change.read(next), change.read(old), "the test changes the value");
    assertEquals(change.read(config), change.read(next));
    assertEquals(kept, [], "a live key is not named as kept");
  });
}

Deno.test("reload: every live key at once changes, and none is named as kept", () => {
  const { next, config, kept } = reload(LIVE);
  assertEquals(kept, []);
  for (const change of LIVE) assertEquals(change.read(config), change.read(next), change.key);
});

for (const change of RESTART_ONLY) {
  Deno.test(`reload: ${change.key} keeps its old value until a restart and is named (README)`, () => {
    const { old, next, config, kept } = reload([change]);
    assertNotEquals(change.read(next), change.read(old), "the test changes the value");
    assertEquals(change.read(config), change.read(old));
    assertEquals(kept, [change.key]);
  });
}

/**
 * The restart-only keys that hold back no live key. A new base_url holds back a new
 * web_auth_flags, checked against it (web_auth_flags_test.ts).
 */
const RESTART_ONLY_ALONE = RESTART_ONLY.filter((change) => change.key !== "http.base_url");

Deno.test("reload: live and restart-only keys changed together: the live ones take, the others are named", () => {
  const { old, next, config, kept } = reload([...LIVE, ...RESTART_ONLY_ALONE]);
  for (const change of LIVE) assertEquals(change.read(config), change.read(next), change.key);
  for (const change of RESTART_ONLY_ALONE) {
    assertEquals(change.read(config), change.read(old), change.key);
  }
  assertEquals(kept.toSorted(), RESTART_ONLY_ALONE.map((change) => change.key).toSorted());
});

/** Two servers, the second with its own policy and lines (README, "Several OpenVPN servers"). */
const TWO_SERVERS = `
[[openvpn]]
name = "udp"
management = "unix:///run/openvpn/udp.sock"
auth_pending_timeout = "3m"
bypass_common_names = ["^site-a$"]

[[openvpn]]
name = "tcp"
management = "unix:///run/openvpn/tcp.sock"
auth_pending_timeout = "2m"
username_policy = "empty_or_match"

[openvpn.authorization]
allowed_groups = ["/staff/vpn-admins"]

[[openvpn.client_config]]
groups = ["/staff/vpn-admins"]
lines = ['push "route 10.20.0.0 255.255.0.0"']

[http]
base_url = "https://vpn.example.com"
secret = "0123456789abcdef0123456789abcdef"

[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"

[authorization]
allowed_groups = ["/vpn-users"]
`;

Deno.test("reload: with several servers, each server's own policy, lines and live keys change live", () => {
  const live: Change[] = [
    {
      key: "openvpn[tcp].authorization",
      from: 'allowed_groups = ["/staff/vpn-admins"]',
      to: 'allowed_groups = ["/staff/network"]',
      read: (c) => c.servers[1]!.authorization.allowedGroups,
    },
    {
      key: "openvpn[tcp].client_config",
      from: `lines = ['push "route 10.20.0.0 255.255.0.0"']`,
      to: `lines = ['push "route 10.30.0.0 255.255.0.0"']`,
      read: (c) => c.servers[1]!.clientConfig,
    },
    {
      key: "openvpn[tcp].auth_pending_timeout",
      from: 'auth_pending_timeout = "2m"',
      to: 'auth_pending_timeout = "4m"',
      read: (c) => c.servers[1]!.authPendingTimeoutMs,
    },
    {
      key: "openvpn[tcp].username_policy",
      from: 'username_policy = "empty_or_match"',
      to: 'username_policy = "any"',
      read: (c) => c.servers[1]!.usernamePolicy,
    },
    {
      key: "openvpn[udp].bypass_common_names",
      from: 'bypass_common_names = ["^site-a$"]',
      to: 'bypass_common_names = ["^site-z$"]',
      read: (c) => c.servers[0]!.bypassCommonNames.map((pattern) => pattern.source),
    },
    {
      key: "authorization (the udp server's, from the top level)",
      from: 'allowed_groups = ["/vpn-users"]',
      to: 'allowed_groups = ["/everyone"]',
      read: (c) => [c.authorization.allowedGroups, c.servers[0]!.authorization.allowedGroups],
    },
  ];
  for (const change of live) {
    const { old, next, config, kept } = reload([change], TWO_SERVERS);
    assertNotEquals(change.read(next), change.read(old), `${change.key}: the test changes it`);
    assertEquals(change.read(config), change.read(next), change.key);
    assertEquals(kept, [], change.key);
  }
  const { old, config, kept } = reload([{
    key: "openvpn[tcp].management",
    from: 'management = "unix:///run/openvpn/tcp.sock"',
    to: 'management = "unix:///run/openvpn/tcp-2.sock"',
    read: (c) => c.servers[1]!.management,
  }], TWO_SERVERS);
  assertEquals(config.servers[1]!.management, old.servers[1]!.management);
  assertEquals(kept, ["openvpn[tcp].management"]);
});

/** TWO_SERVERS without the server `name` (its [[openvpn]] table and the tables that follow it). */
function withoutServer(name: "udp" | "tcp"): string {
  const udp = TWO_SERVERS.indexOf('[[openvpn]]\nname = "udp"');
  const tcp = TWO_SERVERS.indexOf('[[openvpn]]\nname = "tcp"');
  const http = TWO_SERVERS.indexOf("[http]");
  return name === "udp"
    ? TWO_SERVERS.slice(0, udp) + TWO_SERVERS.slice(tcp)
    : TWO_SERVERS.slice(0, tcp) + TWO_SERVERS.slice(http);
}

Deno.test("reload: a server removed from the file is named once, and follows the new [authorization] it used (README, Several OpenVPN servers)", () => {
  const tightened = (text: string) =>
    text.replace('allowed_groups = ["/vpn-users"]', 'allowed_groups = ["/vpn-users/staff"]');
  const old = parseInlineToml(TWO_SERVERS).config;
  const next = parseInlineToml(tightened(withoutServer("udp"))).config;
  const { config, kept } = mergeReload(old, next);
  assertEquals(kept, [
    "openvpn[udp] (no longer in the file: its link runs until a restart, under the " +
    "new [authorization] and [[client_config]] where it used the top-level ones)",
  ]);
  assertEquals(config.servers.map((server) => server.name), ["udp", "tcp"]);
  assertEquals(config.servers[0]!.authorization, next.authorization);
  assertEquals(config.servers[0]!.clientConfig, next.clientConfig);
  // Its other keys stay as they were: they are not the policy's.
  assertEquals(config.servers[0]!.bypassCommonNames, old.servers[0]!.bypassCommonNames);
  // One with a policy of its own keeps that one (the new top-level one may be looser).
  const dropTcp = mergeReload(old, parseInlineToml(withoutServer("tcp")).config);
  assertEquals(dropTcp.kept, [
    "openvpn[tcp] (no longer in the file: its link runs until a restart, under the " +
    "new [authorization] and [[client_config]] where it used the top-level ones)",
  ]);
  assertEquals(dropTcp.config.servers[1]!.authorization, old.servers[1]!.authorization);
  // A renamed single server is one removed and one added, not its keys.
  const renamed = mergeReload(
    parseInlineToml(BASE).config,
    parseInlineToml(BASE.replace("[openvpn]\n", '[openvpn]\nname = "site-b"\n')).config,
  );
  assertEquals(renamed.kept, [
    "openvpn[default] (no longer in the file: its link runs until a restart, under the " +
    "new [authorization] and [[client_config]] where it used the top-level ones)",
    "openvpn[site-b] (new in the file: its link starts at a restart)",
  ]);
});

Deno.test("reload: a server added to the file is named once: its link starts at a restart", () => {
  const { config, kept } = mergeReload(
    parseInlineToml(withoutServer("tcp")).config,
    parseInlineToml(TWO_SERVERS).config,
  );
  assertEquals(kept, ["openvpn[tcp] (new in the file: its link starts at a restart)"]);
  assertEquals(config.servers.map((server) => server.name), ["udp"]);
});

/** BASE on the Redis store with every Redis key set; they sit in [sessions] in the file. */
const REDIS_BASE = BASE.replace(
  'backend = "memory"',
  `backend = "redis"
url = "rediss://redis.internal:6380/0"
username = "bridge"
password = "redis-pw-1"
key_prefix = "vpn-a:"
tls_ca_file = "/etc/openvpn-auth-oidc/redis-ca-a.pem"
store_timeout = "2s"`,
);

const REDIS_RESTART_ONLY: Change[] = [
  {
    key: "sessions.url",
    from: 'url = "rediss://redis.internal:6380/0"',
    to: 'url = "rediss://redis.internal:6380/1"',
    read: (c) => c.sessions.redis?.url,
  },
  {
    key: "sessions.username",
    from: 'username = "bridge"',
    to: 'username = "bridge-2"',
    read: (c) => c.sessions.redis?.username,
  },
  {
    key: "sessions.password",
    from: 'password = "redis-pw-1"',
    to: 'password = "redis-pw-2"',
    read: (c) => c.sessions.redis?.password?.reveal(),
  },
  {
    key: "sessions.key_prefix",
    from: 'key_prefix = "vpn-a:"',
    to: 'key_prefix = "vpn-b:"',
    read: (c) => c.sessions.redis?.keyPrefix,
  },
  {
    key: "sessions.tls_ca_file",
    from: 'tls_ca_file = "/etc/openvpn-auth-oidc/redis-ca-a.pem"',
    to: 'tls_ca_file = "/etc/openvpn-auth-oidc/redis-ca-b.pem"',
    read: (c) => c.sessions.redis?.tlsCaFile,
  },
  {
    key: "sessions.store_timeout",
    from: 'store_timeout = "2s"',
    to: 'store_timeout = "5s"',
    read: (c) => c.sessions.redis?.storeTimeoutMs,
  },
];

for (const change of REDIS_RESTART_ONLY) {
  Deno.test(`reload: ${change.key} keeps its old value until a restart and is named by its key in the file`, () => {
    const { old, next, config, kept } = reload([change], REDIS_BASE);
    assertNotEquals(change.read(next), change.read(old), "the test changes the value");
    assertEquals(change.read(config), change.read(old));
    assertEquals(kept, [change.key]);
  });
}

Deno.test("reload: sessions.store_timeout and sessions.password changed together are both named, the password's value nowhere", () => {
  const [password, storeTimeout] = ["sessions.password", "sessions.store_timeout"].map((key) =>
    REDIS_RESTART_ONLY.find((change) => change.key === key)!
  );
  const { kept } = reload([storeTimeout!, password!], REDIS_BASE);
  assertEquals(kept.toSorted(), ["sessions.password", "sessions.store_timeout"]);
  assert(!kept.some((key) => key.includes("redis-pw")), "names only");
});

/** `value` with every leaf changed: the next config of a reload that changes every key. */
function everyLeafChanged(value: unknown): unknown {
  if (value instanceof Secret) return new Secret(`${value.reveal()}-changed`);
  if (value instanceof URL) return new URL(`${value.href}changed`);
  if (value instanceof RegExp) return new RegExp(`${value.source}-changed`);
  if (Array.isArray(value)) return [...value.map(everyLeafChanged), "changed"];
  if (value === undefined) return "changed";
  if (typeof value === "string") return `${value}-changed`;
  if (typeof value === "number") return value + 1;
  if (typeof value === "boolean") return !value;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, leaf]) => [key, everyLeafChanged(leaf)]),
    );
  }
  return value;
}

/** A reload that changes every leaf of a full config, and every key the file can hold. */
function everyKeyChanged(): { kept: string[]; keysOfTheFile: Set<string> } {
  const old = parseInlineToml(
    REDIS_BASE.replace(
      'roles_claim = "realm_access.roles"',
      'roles_claim = "realm_access.roles"\nauthorize_params = { prompt = "login" }',
    ) + '\n[cluster]\nenabled = true\ninstance_id = "bridge-1"\n',
  ).config;
  const changedLeaves = everyLeafChanged(old) as ResolvedConfig;
  const next = {
    ...changedLeaves,
    // The same base_url: a new one holds back a new web_auth_flags (web_auth_flags_test.ts),
    // which would then read as a key that never changes live.
    http: { ...changedLeaves.http, baseUrl: old.http.baseUrl },
    // The same one server, so that its keys are named as in the file: `openvpn.management`.
    servers: old.servers.map((server) => ({
      ...everyLeafChanged(server) as ResolvedConfig["servers"][number],
      name: server.name,
    })),
  };
  const { kept } = mergeReload(old, next);
  const sections: Record<string, SectionSpec> = SCHEMA;
  const keysOfTheFile = new Set([
    ...Object.entries(sections).flatMap(([section, spec]) =>
      acceptedKeys(spec).map((key) => `${section}.${key}`)
    ),
    ...[...acceptedKeys(SERVER_SPEC), ...SERVER_TABLES].map((key) => `openvpn.${key}`),
  ]);
  return { kept, keysOfTheFile };
}

Deno.test("reload: every key the warning can name is a key of the file (README: named in a warning)", () => {
  const { kept, keysOfTheFile } = everyKeyChanged();
  assertEquals(kept.filter((key) => !keysOfTheFile.has(key)), [], "names not in the file");
  for (const key of REDIS_RESTART_ONLY.map((change) => change.key)) {
    assert(kept.includes(key), `${key} is named`);
  }
});

/** README's Reload item from "Live:" to "Other keys", its line breaks as spaces. */
function readmeLiveList(): string {
  const readme = Deno.readTextFileSync(new URL("../../../README.md", import.meta.url));
  const list = /^- \*\*Reload\*\*[\s\S]*?Live: ([\s\S]*?) Other keys/m.exec(readme)?.[1];
  assert(list !== undefined, "README has no Live: list in its Reload item");
  return list.replace(/\s+/g, " ");
}

/** Whether README's Live list names `key`: by its table, the key, its last part, or in words. */
function namedInLiveList(list: string, key: string): boolean {
  const [section, name] = key.split(".");
  // A server's own `[openvpn.authorization]` is named as the table it replaces.
  const ways = [section, name].flatMap((table) => [`\`[${table}]\``, `\`[[${table}]]\``]);
  ways.push(`\`${key}\``, `\`${name}\``);
  if (section === "oidc" && name?.endsWith("_claim")) ways.push("the claim names");
  if (key.startsWith("http.tls_")) ways.push("the TLS certificate and key");
  return ways.some((way) => list.includes(way));
}

Deno.test("reload: every key the merge takes live is in README's Live list", () => {
  const { kept, keysOfTheFile } = everyKeyChanged();
  // Not changed by everyKeyChanged: a secret's `_file` (the secret it holds is compared),
  // the server's name (a server is known by it), [cluster]'s presence (left on), base_url
  // (everyKeyChanged says why).
  const unchanged = (key: string) =>
    key.endsWith("_file") && keysOfTheFile.has(key.slice(0, -"_file".length)) ||
    key === "openvpn.name" ||
    key === "http.base_url" ||
    key === "cluster.enabled";
  const live = [...keysOfTheFile].filter((key) => !kept.includes(key) && !unchanged(key));
  // The key the list once left out: the merge does take it live.
  assert(live.includes("openvpn.username_policy"), `live: ${live.join(", ")}`);
  const list = readmeLiveList();
  assertEquals(live.filter((key) => !namedInLiveList(list, key)), []);
  // The rule is no blanket: no key the warning names is found in the list.
  assertEquals(kept.filter((key) => namedInLiveList(list, key)), []);
});
