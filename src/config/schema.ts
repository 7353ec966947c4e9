/**
 * Every configuration key: its type and default. Loading, environment overrides, did-you-mean
 * suggestions and `check-config` output are all driven by this one table, so a key added here
 * is known everywhere. Keys are snake_case as written in TOML.
 *
 * A `secret` key may instead be given as `<key>_file` (a path whose contents, trimmed of one
 * trailing newline, are the value); giving both is an error.
 */
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
  default?: string | number | boolean | string[] | Record<string, unknown>;
  required?: boolean;
  /** For `string`: the allowed values. */
  oneOf?: readonly string[];
  /** For `int`: inclusive bounds. */
  min?: number;
  max?: number;
}

export type SectionSpec = Record<string, KeySpec>;

export const SCHEMA: Record<string, SectionSpec> = {
  openvpn: {
    management: { type: "string", required: true },
    password: { type: "secret" },
    auth_pending_timeout: { type: "duration", default: "3m" },
    bypass_common_names: { type: "strings", default: [] },
    command_timeout: { type: "duration", default: "10s" },
    reconnect_max_delay: { type: "duration", default: "30s" },
  },
  http: {
    listen: { type: "string", default: "127.0.0.1:9000" },
    base_url: { type: "string", required: true },
    secret: { type: "secret", required: true },
    tls_cert_file: { type: "string" },
    tls_key_file: { type: "string" },
    trusted_proxies: { type: "strings", default: [] },
    confirm_login: { type: "bool", default: true },
    check_client_ip: { type: "bool", default: false },
    templates_dir: { type: "string" },
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
    private_key_alg: { type: "string", default: "RS256", oneOf: ["RS256", "PS256", "ES256"] },
    scopes: { type: "strings", default: ["openid", "profile", "email"] },
    username_claim: { type: "string", default: "preferred_username" },
    groups_claim: { type: "string", default: "groups" },
    roles_claim: { type: "string" },
    authorize_params: { type: "table", default: {} },
    use_userinfo: { type: "bool", default: false },
    clock_tolerance: { type: "duration", default: "30s" },
    http_timeout: { type: "duration", default: "10s" },
  },
  authorization: {
    allowed_groups: { type: "strings", default: [] },
    allowed_roles: { type: "strings", default: [] },
    required_claims: { type: "table", default: {} },
    common_name_claim: { type: "string" },
  },
  sessions: {
    backend: { type: "string", default: "file", oneOf: ["memory", "file"] },
    path: { type: "string", default: "/var/lib/openvpn-auth-oidc/sessions.sqlite" },
    lifetime: { type: "duration", default: "12h" },
    encryption_key: { type: "secret" },
    reauth_check: { type: "string", default: "none", oneOf: ["none", "refresh"] },
    idp_unreachable: { type: "string", default: "deny", oneOf: ["deny", "allow"] },
    max_entries: { type: "int", default: 200_000, min: 1, max: 10_000_000 },
    sweep_interval: { type: "duration", default: "1m" },
  },
  log: {
    level: { type: "string", default: "info", oneOf: ["debug", "info", "warning", "error"] },
    format: { type: "string", default: "text", oneOf: ["text", "json"] },
  },
};

/** `[[client_config]]` is an array of tables, each with these keys. */
export const CLIENT_CONFIG_SPEC: SectionSpec = {
  groups: { type: "strings", required: true },
  lines: { type: "strings", required: true },
};

/** Environment variables override keys: `OPENVPN_AUTH_OIDC_<SECTION>_<KEY>`, upper case. */
export const ENV_PREFIX = "OPENVPN_AUTH_OIDC_";

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
