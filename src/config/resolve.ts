/**
 * Semantic checks and conversion from checked TOML values to ResolvedConfig: addresses, URLs,
 * regexes, cross-key rules (a client secret for secret-based auth, both TLS files or none).
 */
import { isIP } from "node:net";
import type { ConfigIssue } from "./errors.ts";
import type { Value, Values } from "./load.ts";
import type { Secret } from "./secret.ts";
import type {
  ClientAuthMethod,
  ClientConfigRule,
  LogLevel,
  ManagementAddress,
  ResolvedConfig,
} from "./types.ts";
import { MAX_BASE_URL_LENGTH } from "../http/routes.ts";
import { validateClientConfigLine } from "../policy/client_config.ts";
import { validateGroupName } from "../policy/groups.ts";
import { validateRequiredClaim } from "../policy/authorize.ts";
import { RESERVED_AUTHORIZE_PARAMS } from "../oidc/config_checks.ts";
import { parseEncryptionKey } from "../sessions/token_cipher.ts";

const MIN_SECRET_LENGTH = 32;

export function resolveConfig(
  values: Values,
  clientConfig: Array<Map<string, Value>>,
): { config?: ResolvedConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  const get = (section: string) => {
    const map = values.get(section) ?? new Map<string, Value>();
    return {
      str: (key: string) => map.get(key) as string,
      optStr: (key: string) => map.get(key) as string | undefined,
      num: (key: string) => map.get(key) as number,
      bool: (key: string) => map.get(key) as boolean,
      list: (key: string) => map.get(key) as string[],
      table: (key: string) => map.get(key) as Record<string, unknown>,
      secret: (key: string) => map.get(key) as Secret | undefined,
    };
  };
  const openvpn = get("openvpn");
  const http = get("http");
  const oidc = get("oidc");
  const authz = get("authorization");
  const sessions = get("sessions");
  const log = get("log");

  const management = parseManagement(openvpn.str("management"));
  if (typeof management === "string") issue("openvpn.management", management);

  const bypass: RegExp[] = [];
  openvpn.list("bypass_common_names").forEach((pattern, index) => {
    try {
      bypass.push(new RegExp(`^(?:${pattern})$`));
    } catch (error) {
      issue(
        `openvpn.bypass_common_names[${index}]`,
        `Invalid regular expression: ${(error as Error).message}`,
      );
    }
  });

  const listen = parseHostPort(http.str("listen"));
  if (typeof listen === "string") issue("http.listen", listen);

  const baseUrl = parsePublicUrl(http.str("base_url"), "base URL");
  if (typeof baseUrl === "string") issue("http.base_url", baseUrl);
  else {
    if (baseUrl.search || baseUrl.hash) {
      issue("http.base_url", "Must not contain a query or fragment");
    }
    const length = baseUrl.href.replace(/\/+$/, "").length;
    if (length > MAX_BASE_URL_LENGTH) {
      issue(
        "http.base_url",
        `Too long (${length} characters): login URLs must fit OpenVPN's 246-character WEB_AUTH limit, so the base URL may have at most ${MAX_BASE_URL_LENGTH}`,
      );
    }
  }

  const secret = http.secret("secret");
  if (secret && secret.reveal().length < MIN_SECRET_LENGTH) {
    issue(
      "http.secret",
      `Too short: use at least ${MIN_SECRET_LENGTH} random characters (e.g. openssl rand -base64 32)`,
    );
  }
  const tlsCert = http.optStr("tls_cert_file");
  const tlsKey = http.optStr("tls_key_file");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    issue(
      tlsCert === undefined ? "http.tls_cert_file" : "http.tls_key_file",
      "Set both tls_cert_file and tls_key_file, or neither",
    );
  }
  http.list("trusted_proxies").forEach((entry, index) => {
    if (!isIpOrCidr(entry)) {
      issue(
        `http.trusted_proxies[${index}]`,
        `Expected an IP address or CIDR range, got "${entry}"`,
      );
    }
  });

  const issuer = parsePublicUrl(oidc.str("issuer"), "issuer");
  if (typeof issuer === "string") issue("oidc.issuer", issuer);
  const authMethod = oidc.str("client_auth_method") as ClientAuthMethod;
  const clientSecret = oidc.secret("client_secret");
  const privateKey = oidc.secret("private_key");
  if (
    (authMethod === "client_secret_basic" || authMethod === "client_secret_post") && !clientSecret
  ) {
    issue(
      "oidc.client_secret",
      `Required when client_auth_method is "${authMethod}" (or set client_secret_file)`,
    );
  }
  if (authMethod === "private_key_jwt" && !privateKey) {
    issue(
      "oidc.private_key",
      'Required when client_auth_method is "private_key_jwt": a PKCS#8 PEM key (or set private_key_file)',
    );
  }
  if (authMethod === "none" && clientSecret) {
    issue("oidc.client_secret", 'Not used when client_auth_method is "none": remove it');
  }
  const scopes = oidc.list("scopes");
  if (!scopes.includes("openid")) issue("oidc.scopes", 'Must include "openid"');
  const authorizeParams: Record<string, string> = {};
  for (const [name, value] of Object.entries(oidc.table("authorize_params"))) {
    if (RESERVED_AUTHORIZE_PARAMS.has(name.toLowerCase())) {
      issue(`oidc.authorize_params.${name}`, "Set by the bridge itself; it cannot be overridden");
    } else if (typeof value !== "string") {
      issue(`oidc.authorize_params.${name}`, "Expected a string");
    } else authorizeParams[name] = value;
  }

  const requiredClaims = authz.table("required_claims");
  for (const [name, value] of Object.entries(requiredClaims)) {
    const problem = validateRequiredClaim(name, value);
    if (problem) issue(`authorization.required_claims.${name}`, problem);
  }
  authz.list("allowed_groups").forEach((group, index) => {
    const problem = validateGroupName(group);
    if (problem) issue(`authorization.allowed_groups[${index}]`, problem);
  });

  const rules: ClientConfigRule[] = [];
  clientConfig.forEach((entry, index) => {
    const groups = entry.get("groups") as string[] | undefined;
    const lines = entry.get("lines") as string[] | undefined;
    if (!groups || !lines) return;
    if (groups.length === 0) {
      issue(`client_config[${index}].groups`, "Must name at least one group");
    }
    lines.forEach((line, lineIndex) => {
      const problem = validateClientConfigLine(line);
      if (problem) issue(`client_config[${index}].lines[${lineIndex}]`, problem);
    });
    rules.push({ groups, lines });
  });

  const encryptionKey = sessions.secret("encryption_key");
  if (encryptionKey) {
    try {
      parseEncryptionKey(encryptionKey);
    } catch (error) {
      issue("sessions.encryption_key", (error as Error).message);
    }
  }

  const pendingTimeout = openvpn.num("auth_pending_timeout");
  if (pendingTimeout < 10_000 || pendingTimeout > 3_600_000) {
    issue("openvpn.auth_pending_timeout", "Expected a duration from 10s to 1h");
  }

  if (issues.length > 0) return { issues };
  const config: ResolvedConfig = {
    openvpn: {
      management: management as ManagementAddress,
      password: openvpn.secret("password"),
      authPendingTimeoutMs: pendingTimeout,
      bypassCommonNames: bypass,
      commandTimeoutMs: openvpn.num("command_timeout"),
      reconnectMaxDelayMs: openvpn.num("reconnect_max_delay"),
    },
    http: {
      listen: listen as { host: string; port: number },
      baseUrl: baseUrl as URL,
      secret: secret!,
      tlsCertFile: tlsCert,
      tlsKeyFile: tlsKey,
      trustedProxies: http.list("trusted_proxies"),
      confirmLogin: http.bool("confirm_login"),
      checkClientIp: http.bool("check_client_ip"),
      templatesDir: http.optStr("templates_dir"),
    },
    oidc: {
      issuer: issuer as URL,
      clientId: oidc.str("client_id"),
      clientSecret,
      clientAuthMethod: authMethod,
      privateKey,
      privateKeyAlg: oidc.str("private_key_alg"),
      scopes,
      usernameClaim: oidc.str("username_claim"),
      groupsClaim: oidc.str("groups_claim"),
      rolesClaim: oidc.optStr("roles_claim"),
      authorizeParams,
      useUserinfo: oidc.bool("use_userinfo"),
      clockToleranceSec: Math.round(oidc.num("clock_tolerance") / 1000),
      httpTimeoutMs: oidc.num("http_timeout"),
    },
    authorization: {
      allowedGroups: authz.list("allowed_groups"),
      allowedRoles: authz.list("allowed_roles"),
      requiredClaims,
      commonNameClaim: authz.optStr("common_name_claim"),
    },
    clientConfig: rules,
    sessions: {
      backend: sessions.str("backend") as "memory" | "file",
      path: sessions.str("path"),
      lifetimeMs: sessions.num("lifetime"),
      encryptionKey,
      reauthCheck: sessions.str("reauth_check") as "none" | "refresh",
      idpUnreachable: sessions.str("idp_unreachable") as "deny" | "allow",
      maxEntries: sessions.num("max_entries"),
      sweepIntervalMs: sessions.num("sweep_interval"),
    },
    log: { level: log.str("level") as LogLevel, format: log.str("format") as "text" | "json" },
  };
  return { config, issues };
}

export function parseManagement(text: string): ManagementAddress | string {
  if (text.startsWith("unix://")) {
    const path = text.slice("unix://".length);
    if (!path.startsWith("/")) return `Expected "unix:///absolute/path", got "${text}"`;
    return { kind: "unix", path };
  }
  if (text.startsWith("tcp://")) {
    const hostPort = parseHostPort(text.slice("tcp://".length));
    if (typeof hostPort === "string") return hostPort;
    return { kind: "tcp", ...hostPort };
  }
  return `Expected "unix:///path/to/socket" or "tcp://host:port", got "${text}"`;
}

export function parseHostPort(text: string): { host: string; port: number } | string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    return `Expected "host:port" (IPv6 as "[::1]:port"), got "${text}"`;
  }
  return { host: match[1] ?? match[2]!, port };
}

function parsePublicUrl(text: string, what: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `Expected an absolute URL, got "${text}"`;
  }
  if (url.username || url.password) return `The ${what} must not contain credentials`;
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    if (isLoopback(url.hostname)) return url;
    return `The ${what} must use https:// (http:// is allowed only for loopback hosts), got "${text}"`;
  }
  return `Expected an http(s) URL, got "${text}"`;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function isIpOrCidr(text: string): boolean {
  const [address, prefix, extra] = text.split("/");
  if (extra !== undefined || address === undefined) return false;
  const version = isIP(address);
  if (version === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}
