/**
 * Every configuration key: its type and default. Loading, environment overrides, did-you-mean
 * suggestions and `check-config` output are all driven by this one table, so a key added here
 * is known everywhere. Keys are snake_case as written in TOML.
 *
 * A `secret` key may instead be given as `<key>_file` (a path whose contents, trimmed of one
 * trailing newline, are the value); giving both is an error.
 */
import { DEFAULT_LEASE_MS, LEASE_MAX_MS, LEASE_MIN_MS } from "../cluster/lease.ts";
import { formatDuration } from "../config/duration.ts";
import { LANGUAGES } from "../config/languages.ts";
import { CLOCK_TOLERANCE_LIMITS_MS, IDP_HTTP_TIMEOUT_LIMITS_MS } from "../oidc/config_checks.ts";
import { DEFAULT_PRIVATE_KEY_ALG, PRIVATE_KEY_ALGORITHMS } from "../oidc/private_key.ts";
import { MIN_OPEN_REQUESTS } from "../oidc/request_gate.ts";
import { HTTP_TIMEOUT_LIMITS_MS } from "../http/connection_guard.ts";
import {
  COMMAND_TIMEOUT_LIMITS_MS,
  RECONNECT_MAX_DELAY_LIMITS_MS,
} from "../management/connection.ts";
import { SWEEP_INTERVAL_LIMITS_MS } from "../sessions/open_store.ts";
import { STORE_TIMEOUT_LIMITS_MS } from "../sessions/redis_connection.ts";
import type { Secret } from "../config/secret.ts";

export type KeyType =
  | "string"
  | "secret"
  | "bool"
  | "int"
  | "duration"
  | "strings"
  | "table";

export interface KeySpec {
  type: KeyType;
  /** Default as written in TOML; `undefined` means optional with no default. */
  default?: string | number | boolean | readonly string[] | Readonly<Record<string, unknown>>;
  required?: boolean;
  /** For `string`: the allowed values. */
  oneOf?: readonly string[];
  /**
   * For `string`: a file or directory path, refused when empty. "" (say an `EnvironmentFile=`
   * line `..._HTTP_TLS_KEY_FILE=`) reads as no path to the code using it, or as another one:
   * the listener took it for "no TLS" and served plain HTTP, SQLite makes a temporary
   * database, and template files would be looked for in the working directory. A `*_file`
   * secret's path is refused the same way (checker.ts).
   */
  path?: true;
  /** For `int` and `duration`: inclusive bounds (milliseconds for a duration). */
  min?: number;
  max?: number;
  /**
   * For `duration`: refused unless whole seconds, for a key used in seconds (rounded, "400ms"
   * would silently be 0 and "10m400ms" would pass a 10m bound).
   */
  wholeSeconds?: true;
}

export type SectionSpec = Record<string, KeySpec>;

export const SCHEMA = {
  http: {
    listen: { type: "string", default: "127.0.0.1:9000" },
    base_url: { type: "string", required: true },
    secret: { type: "secret", required: true },
    tls_cert_file: { type: "string", path: true },
    tls_key_file: { type: "string", path: true },
    trusted_proxies: { type: "strings", default: [] },
    confirm_login: { type: "bool", default: true },
    check_client_ip: { type: "bool", default: false },
    templates_dir: { type: "string", path: true },
    default_language: { type: "string", default: "en", oneOf: LANGUAGES },
    form_action_origins: { type: "strings", default: [] },
    max_connections: { type: "int", default: 256, min: 1, max: 100_000 },
    max_connections_per_client: { type: "int", default: 32, min: 1, max: 100_000 },
    header_timeout: { type: "duration", default: "10s", ...HTTP_TIMEOUT_LIMITS_MS },
    idle_timeout: { type: "duration", default: "10s", ...HTTP_TIMEOUT_LIMITS_MS },
  },
  oidc: {
    issuer: { type: "string", required: true },
    client_id: { type: "string", required: true },
    client_secret: { type: "secret" },
    client_auth_method: {
      type: "string",
      default: "client_secret_basic",
      oneOf: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    },
    private_key: { type: "secret" },
    private_key_alg: {
      type: "string",
      default: DEFAULT_PRIVATE_KEY_ALG,
      oneOf: PRIVATE_KEY_ALGORITHMS,
    },
    private_key_certificate_file: { type: "string", path: true },
    client_assertion_audience: {
      type: "string",
      default: "issuer",
      oneOf: ["issuer", "token_endpoint"],
    },
    scopes: { type: "strings", default: ["openid", "profile", "email"] },
    username_claim: { type: "string", default: "preferred_username" },
    groups_claim: { type: "string", default: "groups" },
    roles_claim: { type: "string" },
    authorize_params: { type: "table", default: {} },
    use_userinfo: { type: "bool", default: false },
    revoke_refresh_tokens: { type: "bool", default: true },
    clock_tolerance: {
      type: "duration",
      default: "30s",
      ...CLOCK_TOLERANCE_LIMITS_MS,
      wholeSeconds: true,
    },
    http_timeout: { type: "duration", default: "10s", ...IDP_HTTP_TIMEOUT_LIMITS_MS },
    max_open_requests: { type: "int", default: 32, min: MIN_OPEN_REQUESTS, max: 1024 },
    tls_ca_file: { type: "string", path: true },
  },
  authorization: {
    allowed_groups: { type: "strings", default: [] },
    allowed_roles: { type: "strings", default: [] },
    required_claims: { type: "table", default: {} },
    common_name_claim: { type: "string" },
  },
  sessions: {
    backend: { type: "string", default: "file", oneOf: ["memory", "file", "redis"] },
    path: { type: "string", default: "/var/lib/openvpn-auth-oidc/sessions.sqlite", path: true },
    lifetime: { type: "duration", default: "12h", min: 60_000, max: 366 * 24 * 3_600_000 },
    encryption_key: { type: "secret" },
    reauth_check: { type: "string", default: "none", oneOf: ["none", "refresh"] },
    idp_unreachable: { type: "string", default: "deny", oneOf: ["deny", "allow"] },
    max_entries: { type: "int", default: 200_000, min: 1, max: 10_000_000 },
    sweep_interval: { type: "duration", default: "1m", ...SWEEP_INTERVAL_LIMITS_MS },
    // Unset: no periodic re-check. At least 10 s, so the IdP is never polled in a loop.
    recheck_interval: { type: "duration", min: 10_000, max: 7 * 24 * 3_600_000 },
    max_per_user: { type: "int", default: 0, min: 0, max: 1000 },
    max_per_user_action: {
      type: "string",
      default: "kill_oldest",
      oneOf: ["kill_oldest", "deny_new"],
    },
    url: { type: "string" },
    username: { type: "string" },
    password: { type: "secret" },
    key_prefix: { type: "string", default: "openvpn-auth-oidc:" },
    tls_ca_file: { type: "string", path: true },
    store_timeout: { type: "duration", default: "2s", ...STORE_TIMEOUT_LIMITS_MS },
    store_unreachable: { type: "string", default: "deny", oneOf: ["deny", "allow"] },
  },
  cluster: {
    enabled: { type: "bool", default: false },
    lease: {
      type: "duration",
      default: formatDuration(DEFAULT_LEASE_MS),
      min: LEASE_MIN_MS,
      max: LEASE_MAX_MS,
    },
    instance_id: { type: "string" },
  },
  control: {
    // Not a `path` key: "" turns the control socket off (README).
    socket: { type: "string", default: "/run/openvpn-auth-oidc/control.sock" },
  },
  metrics: {
    listen: { type: "string" },
  },
  log: {
    level: { type: "string", default: "info", oneOf: ["debug", "info", "warning", "error"] },
    format: { type: "string", default: "text", oneOf: ["text", "json"] },
  },
} as const satisfies Record<string, SectionSpec>;

/**
 * One OpenVPN server: `[openvpn]` (the server named `default` unless it has a `name`) or each
 * `[[openvpn]]` table (a `name` required). A server may carry its own `[[openvpn.client_config]]`
 * and `[openvpn.authorization]`, which replace the top-level ones for its clients.
 */
export const SERVER_SPEC = {
  name: { type: "string" },
  management: { type: "string", required: true },
  password: { type: "secret" },
  auth_pending_timeout: { type: "duration", default: "3m", min: 10_000, max: 3_600_000 },
  // 32: an office behind one NAT address signs in together; 0 turns the cap off.
  max_pending_per_address: { type: "int", default: 32, min: 0, max: 100_000 },
  bypass_common_names: { type: "strings", default: [] },
  command_timeout: { type: "duration", default: "10s", ...COMMAND_TIMEOUT_LIMITS_MS },
  reconnect_max_delay: { type: "duration", default: "30s", ...RECONNECT_MAX_DELAY_LIMITS_MS },
  username_policy: {
    type: "string",
    default: "empty_or_match",
    oneOf: ["any", "empty_or_match", "match"],
  },
  // Checked against the flags OpenVPN defines (management/web_auth_flags.ts).
  web_auth_flags: { type: "strings", default: [] },
} as const satisfies SectionSpec;

/** Tables a server table may hold besides its keys. */
export const SERVER_TABLES = ["client_config", "authorization"] as const;

/** `[[client_config]]` is an array of tables, each with these keys. */
export const CLIENT_CONFIG_SPEC = {
  groups: { type: "strings", required: true },
  lines: { type: "strings", required: true },
} as const satisfies SectionSpec;

/** The checked value of a key of this spec: durations in milliseconds, `oneOf` as a union. */
export type ValueOf<S extends KeySpec> = S["type"] extends "string"
  ? S extends { oneOf: readonly (infer Word)[] } ? Word : string
  : S["type"] extends "secret" ? Secret
  : S["type"] extends "bool" ? boolean
  : S["type"] extends "int" | "duration" ? number
  : S["type"] extends "strings" ? readonly string[]
  : Readonly<Record<string, unknown>>;

/** A section's checked values: keys that are required or have a default are always present. */
export type SectionValues<S extends SectionSpec> = {
  readonly [K in keyof S]: AlwaysSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

type AlwaysSet<S extends KeySpec> = S extends { required: true } ? true
  : S extends { default: string | number | boolean | object } ? true
  : false;

/** Every section's checked values, as the checker hands them to the resolver. */
export type Values = { readonly [N in keyof typeof SCHEMA]: SectionValues<(typeof SCHEMA)[N]> };

/** Environment variables override keys: `OPENVPN_AUTH_OIDC_<SECTION>_<KEY>`, upper case. */
const ENV_PREFIX = "OPENVPN_AUTH_OIDC_";

export function envName(section: string, key: string): string {
  return `${ENV_PREFIX}${section.toUpperCase()}_${key.toUpperCase()}`;
}

/** The keys a section accepts, including the `_file` variants of secrets. */
export function acceptedKeys(spec: SectionSpec): string[] {
  const keys: string[] = [];
  for (const [key, keySpec] of Object.entries(spec)) {
    keys.push(key);
    if (keySpec.type === "secret") keys.push(`${key}_file`);
  }
  return keys;
}

/** One `[[client_config]]` entry's checked values. */
export type ClientConfigValues = SectionValues<typeof CLIENT_CONFIG_SPEC>;

/** One server table's checked values, its own policy tables included when given. */
export type ServerValues = SectionValues<typeof SERVER_SPEC> & {
  readonly authorization: Values["authorization"] | undefined;
  readonly client_config: readonly ClientConfigValues[] | undefined;
  /** Whether the table came from `[[openvpn]]` (paths then read `openvpn[i]`). */
  readonly inArray: boolean;
};
