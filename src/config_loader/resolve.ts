/**
 * Semantic checks and conversion from checked TOML values to ResolvedConfig: addresses, URLs,
 * regexes, cross-key rules. Every rule a feature enforces at run time is asked of that feature
 * (OIDC settings, client config lines, group names, required claims, the encryption key, the
 * base URL), so the config accepts exactly what the service can use.
 */
import { hostname } from "node:os";
import { errorText } from "../error_text.ts";
import type { ConfigIssue } from "./errors.ts";
import type { ClientConfigValues, ServerValues, Values } from "./schema.ts";
import type {
  AuthorizationConfig,
  ClientConfigRule,
  ClusterConfig,
  HttpConfig,
  KeyCertificate,
  ManagementAddress,
  OidcConfig,
  OpenvpnServerConfig,
  RedisSettings,
  ResolvedConfig,
  SessionsConfig,
  TrustedCaFile,
} from "../config/types.ts";
import type { Secret } from "../config/secret.ts";
import { bypassPatternWarning, compileBypassPattern } from "../bridge/bypass_patterns.ts";
import { baseUrlProblems, baseUrlTooLong } from "../bridge/login_url.ts";
import { proxyRange } from "../http/client_ip.ts";
import { formActionOrigin } from "../http/security_headers.ts";
import {
  ManagementArgumentError,
  MAX_WEB_AUTH_EXTRA_CHARS,
  passwordLine,
} from "../management/commands.ts";
import { webAuthFlagsProblems } from "../management/web_auth_flags.ts";
import { isLoopbackHost } from "../loopback.ts";
import { parseCaCertificates } from "../oidc/ca_certificates.ts";
import { checkOidcConfig, oidcConfigWarnings } from "../oidc/config_checks.ts";
import { validateClientConfigLine } from "../policy/client_config.ts";
import { validateGroupName } from "../policy/groups.ts";
import {
  validateClaimPath,
  validateClaimPaths,
  validateRequiredClaim,
  validateRequiredClaimName,
} from "../policy/authorize.ts";
import { checkRedisSettings, redisUrlPasswordProblem } from "../sessions/redis_connection.ts";
import { checkRedisSweepInterval } from "../sessions/redis_grace.ts";
import { parseEncryptionKey } from "../sessions/token_cipher.ts";
import { controlSocketProblem } from "../control/socket_path.ts";

const MIN_SECRET_LENGTH = 32;
/**
 * A secret that reads like the examples' placeholder (server.toml.example and the package's
 * server.toml ship `client_secret = "change-me"`; earlier ones `change-me-change-me-...` as
 * http.secret): public, so refused wherever a secret guards something (refusePlaceholder).
 */
const PLACEHOLDER_SECRET = /change-?me/i;

type Issue = (path: string, message: string) => void;

/**
 * Refuses `secret` at `path` when it reads like a placeholder, saying what to set instead; says
 * whether it did. For every secret that guards something: http.secret, oidc.client_secret,
 * sessions.encryption_key (`change-me-change-me-change-me-change-me-cha` is a valid base64url
 * key), the Redis password and each management password (anyone who can reach the interface
 * could let any client in).
 */
function refusePlaceholder(
  path: string,
  secret: Secret | undefined,
  instead: string,
  issue: Issue,
): boolean {
  if (secret === undefined || !PLACEHOLDER_SECRET.test(secret.reveal())) return false;
  issue(path, `A placeholder, not a secret: ${instead}`);
  return true;
}

/** What to set instead of a placeholder password or key: a random one. */
const RANDOM_SECRET = "use random characters (e.g. openssl rand -base64 48)";

/**
 * `fromEnv`: key paths whose value an environment variable set, with the variable
 * (Checker.fromEnv), for the warnings about overrides that miss a server. `readFile` reads the
 * files whose content is part of the config (`oidc.tls_ca_file`), at each load.
 */
export function resolveConfig(
  values: Values,
  servers: readonly ServerValues[],
  clientConfig: readonly ClientConfigValues[],
  fromEnv: ReadonlyMap<string, string>,
  readFile: (path: string) => string,
): { config?: ResolvedConfig; issues: ConfigIssue[]; warnings?: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const issue: Issue = (path, message) => issues.push({ path, message });
  const http = resolveHttp(values.http, issue);
  const oidc = resolveOidc(values.oidc, issue, readFile);
  const authorization = resolveAuthorization(values.authorization, "authorization", issue);
  const rules = resolveClientConfig(clientConfig, "client_config", issue);
  const serverWarnings: ConfigIssue[] = [];
  const resolvedServers = resolveServers(
    servers,
    { authorization, clientConfig: rules },
    issue,
    (path, message) => serverWarnings.push({ path, message }),
  );
  if (http && resolvedServers) checkWebAuthLength(http.baseUrl, resolvedServers, servers, issue);
  const sessions = resolveSessions(values.sessions, issue);
  const cluster = resolveCluster(values.cluster, sessions.backend, issue);
  if (oidc && oidc.rolesClaim === undefined) {
    // Without it every user has no roles, and allowed_roles refuses all of them.
    const needsRoles = (at: string) =>
      issue(
        `${at}.allowed_roles`,
        'Needs oidc.roles_claim, the claim roles are read from (Keycloak: "realm_access.roles")',
      );
    if (authorization.allowedRoles.length > 0) needsRoles("authorization");
    for (const server of resolvedServers ?? []) {
      if (
        server.authorization === authorization || server.authorization.allowedRoles.length === 0
      ) {
        continue;
      }
      needsRoles(`${serverPath(servers, server.name)}.authorization`);
    }
  }
  const socketProblem = controlSocketProblem(values.control.socket);
  if (socketProblem) issue("control.socket", socketProblem);
  const metricsListen = values.metrics.listen === undefined
    ? undefined
    : parseHostPort(values.metrics.listen);
  if (typeof metricsListen === "string") issue("metrics.listen", metricsListen);
  else if (http && metricsListen && sameSocket(http.listen, metricsListen)) {
    issue(
      "metrics.listen",
      `Same address as http.listen (${values.metrics.listen}): use another port`,
    );
  }
  if (
    issues.length > 0 || typeof metricsListen === "string" || !resolvedServers || !http || !oidc
  ) {
    return { issues };
  }
  const config: ResolvedConfig = {
    servers: resolvedServers,
    http,
    oidc,
    authorization,
    clientConfig: rules,
    sessions,
    control: { socket: values.control.socket },
    metrics: { listen: metricsListen },
    log: { ...values.log },
    ...(cluster ? { cluster } : {}),
  };
  const warnings = [
    ...serverWarnings,
    ...oidcConfigWarnings(oidc).map(({ key, message }) => ({ path: `oidc.${key}`, message })),
    ...openPolicyWarnings(config, servers),
    ...unreachedPolicyWarnings(config, servers, fromEnv),
  ];
  return { config, issues, warnings };
}

/** Whether a policy lets in anyone the IdP signs in: no group, role or claim required. */
function admitsEveryone(policy: AuthorizationConfig): boolean {
  return policy.allowedGroups.length === 0 && policy.allowedRoles.length === 0 &&
    Object.keys(policy.requiredClaims).length === 0;
}

/**
 * A server's own [openvpn.authorization] replaces the top-level one whole: one written for
 * another key alone (a common_name_claim) lets every IdP user onto that server, while the
 * top-level policy restricts the others. Allowed, as it may be meant; said.
 */
function openPolicyWarnings(
  config: ResolvedConfig,
  servers: readonly ServerValues[],
): ConfigIssue[] {
  if (admitsEveryone(config.authorization)) return [];
  return config.servers.flatMap((server) => {
    if (server.authorization === config.authorization || !admitsEveryone(server.authorization)) {
      return [];
    }
    return [{
      path: `${serverPath(servers, server.name)}.authorization`,
      message:
        `Server ${
          JSON.stringify(server.name)
        }'s own policy requires no group, role or claim: every ` +
        "user the IdP signs in may connect to it ([authorization] does not apply to a server " +
        "with a policy of its own)",
    }];
  });
}

/**
 * Variables set only the top-level [authorization] (no variable names a server's own table), so
 * an operator tightening access from the environment (a container, a systemd drop-in) would
 * leave a server with a policy of its own as open as before, unaware. Said, per such server.
 * [[client_config]] has no such gap: no variable sets it (one is refused as unknown).
 */
function unreachedPolicyWarnings(
  config: ResolvedConfig,
  servers: readonly ServerValues[],
  fromEnv: ReadonlyMap<string, string>,
): ConfigIssue[] {
  const variables = [...fromEnv]
    .filter(([path]) => path.startsWith("authorization."))
    .map(([, variable]) => variable)
    .sort();
  if (variables.length === 0) return [];
  return config.servers.flatMap((server) => {
    if (server.authorization === config.authorization) return [];
    return [{
      path: `${serverPath(servers, server.name)}.authorization`,
      message:
        `Server ${JSON.stringify(server.name)} has a policy of its own: [authorization], which ` +
        `${variables.join(", ")} ${variables.length === 1 ? "sets" : "set"}, does not apply ` +
        "to it, and no variable changes a server's own policy (edit this table in the file)",
    }];
  });
}

function resolveCluster(
  values: Values["cluster"],
  backend: string,
  issue: Issue,
): ClusterConfig | undefined {
  if (!values.enabled) return undefined;
  if (backend !== "redis") {
    issue("cluster.enabled", 'Needs sessions.backend = "redis": the instances share it');
  }
  const instanceId = values.instance_id ?? defaultInstanceId();
  if (!INSTANCE_ID.test(instanceId)) {
    issue("cluster.instance_id", 'Expected 1 to 64 letters, digits, ".", "_" or "-"');
  }
  return { instanceId, leaseMs: values.lease };
}

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Host name and pid: unique per running instance, readable in logs. */
function defaultInstanceId(): string {
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 48)}-${process.pid}`;
}

/** Server names: letters, digits and `-`, short enough for logs and store keys. */
const SERVER_NAME = /^[A-Za-z0-9-]{1,32}$/;
const DEFAULT_SERVER = "default";

/** Where a server's table is, as issues name it: `openvpn` or `openvpn[1]`. */
function tablePath(values: ServerValues, index: number): string {
  return values.inArray ? `openvpn[${index}]` : "openvpn";
}

/** The table of the server named `name`. */
function serverPath(servers: readonly ServerValues[], name: string): string {
  const index = servers.findIndex((values) => (values.name ?? DEFAULT_SERVER) === name);
  return tablePath(servers[index]!, index);
}

function resolveServers(
  servers: readonly ServerValues[],
  defaults: { authorization: AuthorizationConfig; clientConfig: ClientConfigRule[] },
  issue: Issue,
  warn: Issue,
): OpenvpnServerConfig[] | undefined {
  const resolved: OpenvpnServerConfig[] = [];
  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  servers.forEach((values, index) => {
    const at = tablePath(values, index);
    const name = values.name ?? DEFAULT_SERVER;
    if (!SERVER_NAME.test(name)) {
      issue(`${at}.name`, `Expected 1 to 32 letters, digits or "-", got "${name}"`);
    } else if (names.has(name)) {
      issue(`${at}.name`, `Server name "${name}" is already used by openvpn[${names.get(name)}]`);
    } else names.set(name, index);
    const management = parseManagement(values.management);
    if (typeof management === "string") issue(`${at}.management`, management);
    else {
      const key = JSON.stringify(management);
      const other = addresses.get(key);
      if (other !== undefined) {
        issue(`${at}.management`, `Same management interface as openvpn[${other}]`);
      }
      addresses.set(key, index);
    }
    const bypass: RegExp[] = [];
    values.bypass_common_names.forEach((source, patternIndex) => {
      const path = `${at}.bypass_common_names[${patternIndex}]`;
      let pattern: RegExp;
      try {
        pattern = compileBypassPattern(source);
      } catch (error) {
        issue(path, `Invalid regular expression: ${(error as Error).message}`);
        return;
      }
      bypass.push(pattern);
      const warning = bypassPatternWarning(source, pattern);
      if (warning !== undefined) warn(path, warning);
    });
    if (
      typeof management !== "string" && management.kind === "tcp" &&
      !isLoopbackHost(management.host) && values.password === undefined
    ) {
      // OpenVPN lets whoever holds its management slot answer for every client.
      issue(
        `${at}.password`,
        `Required (password_file) for a management interface on another host ` +
          `(${values.management}): without one, anyone who can reach that port can let any ` +
          "client in",
      );
    }
    if (
      values.password !== undefined &&
      !refusePlaceholder(`${at}.password`, values.password, RANDOM_SECRET, issue)
    ) {
      try {
        passwordLine(values.password);
      } catch (error) {
        if (!(error instanceof ManagementArgumentError)) throw error;
        issue(`${at}.password`, error.message);
      }
    }
    for (const { index: flagIndex, message } of webAuthFlagsProblems(values.web_auth_flags)) {
      issue(`${at}.web_auth_flags[${flagIndex}]`, message);
    }
    const authorization = values.authorization
      ? resolveAuthorization(values.authorization, `${at}.authorization`, issue)
      : defaults.authorization;
    const clientConfig = values.client_config
      ? resolveClientConfig(values.client_config, `${at}.client_config`, issue)
      : defaults.clientConfig;
    if (typeof management === "string") return;
    resolved.push({
      name,
      management,
      password: values.password,
      authPendingTimeoutMs: values.auth_pending_timeout,
      maxPendingPerAddress: values.max_pending_per_address,
      bypassCommonNames: bypass,
      commandTimeoutMs: values.command_timeout,
      reconnectMaxDelayMs: values.reconnect_max_delay,
      usernamePolicy: values.username_policy,
      webAuthFlags: [...values.web_auth_flags],
      authorization,
      clientConfig,
    });
  });
  return resolved.length === servers.length ? resolved : undefined;
}

/**
 * The flags count toward the 246 characters a 2.6 client shows of `WEB_AUTH:<flags>:<url>`: a
 * base URL that fits without them may not fit with a server's. Said at that server's flags (a
 * base URL too long even without flags is http.base_url's problem alone); servers whose flags
 * are refused anyway are left out.
 */
function checkWebAuthLength(
  baseUrl: URL,
  resolved: readonly OpenvpnServerConfig[],
  servers: readonly ServerValues[],
  issue: Issue,
): void {
  if (baseUrlTooLong(baseUrl, []) !== undefined) return;
  for (const server of resolved) {
    if (webAuthFlagsProblems(server.webAuthFlags).length > 0) continue;
    const tooLong = baseUrlTooLong(baseUrl, server.webAuthFlags);
    if (tooLong === undefined) continue;
    issue(
      `${serverPath(servers, server.name)}.web_auth_flags`,
      `Too long with these flags: OpenVPN's ${MAX_WEB_AUTH_EXTRA_CHARS}-character WEB_AUTH limit ` +
        `counts them, so with them http.base_url may have at most ${tooLong.most} characters, ` +
        `and it has ${tooLong.length} (shorten base_url or drop a flag)`,
    );
  }
}

function resolveHttp(values: Values["http"], issue: Issue): HttpConfig | undefined {
  const listen = parseHostPort(values.listen);
  if (typeof listen === "string") issue("http.listen", listen);
  const baseUrl = parseUrl(values.base_url);
  if (typeof baseUrl === "string") issue("http.base_url", baseUrl);
  else for (const problem of baseUrlProblems(baseUrl)) issue("http.base_url", problem);
  if (values.secret.reveal().length < MIN_SECRET_LENGTH) {
    issue(
      "http.secret",
      `Too short: use at least ${MIN_SECRET_LENGTH} random characters (e.g. openssl rand -base64 48)`,
    );
  } else refusePlaceholder("http.secret", values.secret, RANDOM_SECRET, issue);
  const tlsCert = values.tls_cert_file;
  const tlsKey = values.tls_key_file;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    issue(
      tlsCert === undefined ? "http.tls_cert_file" : "http.tls_key_file",
      "Set both tls_cert_file and tls_key_file, or neither",
    );
  }
  values.trusted_proxies.forEach((entry, index) => {
    if (proxyRange(entry) === undefined) {
      issue(
        `http.trusted_proxies[${index}]`,
        "Expected an IP address or CIDR range (an IPv4-mapped range needs /96 or more), " +
          quotedUnlessUserinfo(entry),
      );
    }
  });
  const formActionOrigins: string[] = [];
  values.form_action_origins.forEach((entry, index) => {
    try {
      formActionOrigins.push(formActionOrigin(entry));
    } catch {
      issue(
        `http.form_action_origins[${index}]`,
        `Expected an http(s) URL, ${quotedUnlessUserinfo(entry)}`,
      );
    }
  });
  if (typeof listen === "string" || typeof baseUrl === "string") return undefined;
  return {
    listen,
    baseUrl,
    secret: values.secret,
    tlsCertFile: tlsCert,
    tlsKeyFile: tlsKey,
    trustedProxies: [...values.trusted_proxies],
    confirmLogin: values.confirm_login,
    checkClientIp: values.check_client_ip,
    templatesDir: values.templates_dir,
    defaultLanguage: values.default_language,
    formActionOrigins,
    maxConnections: values.max_connections,
    maxConnectionsPerClient: values.max_connections_per_client,
    headerTimeoutMs: values.header_timeout,
    idleTimeoutMs: values.idle_timeout,
  };
}

/** A PEM file of CAs, read and checked (parseCaCertificates); undefined after an issue. */
function readCaFile(
  key: string,
  path: string,
  readFile: (path: string) => string,
  issue: Issue,
): TrustedCaFile | undefined {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    issue(key, `Cannot read ${path}: ${errorText(error)}`);
    return undefined;
  }
  const parsed = parseCaCertificates(text, path);
  if ("problem" in parsed) {
    issue(key, parsed.problem);
    return undefined;
  }
  return { path, certificates: parsed.certificates };
}

/** `oidc.private_key_certificate_file` as read; keyCertificateProblem judges it with the key. */
function readKeyCertificate(
  path: string,
  readFile: (path: string) => string,
  issue: Issue,
): KeyCertificate | undefined {
  try {
    return { path, pem: readFile(path) };
  } catch (error) {
    issue("oidc.private_key_certificate_file", `Cannot read ${path}: ${errorText(error)}`);
    return undefined;
  }
}

/** The [oidc] options validateClaimPaths judges, by their TOML names. */
const CLAIM_PATH_OPTIONS = [
  ["usernameClaim", "username_claim"],
  ["groupsClaim", "groups_claim"],
  ["rolesClaim", "roles_claim"],
] as const;

function resolveOidc(
  values: Values["oidc"],
  issue: Issue,
  readFile: (path: string) => string,
): OidcConfig | undefined {
  const issuer = parseUrl(values.issuer);
  if (typeof issuer === "string") issue("oidc.issuer", issuer);
  const authorizeParams: Record<string, string> = {};
  for (const [name, value] of Object.entries(values.authorize_params)) {
    if (typeof value !== "string") issue(`oidc.authorize_params.${name}`, "Expected a string");
    else authorizeParams[name] = value;
  }
  if (typeof issuer === "string") return undefined;
  const config: OidcConfig = {
    issuer,
    clientId: values.client_id,
    clientSecret: values.client_secret,
    clientAuthMethod: values.client_auth_method,
    privateKey: values.private_key,
    privateKeyAlg: values.private_key_alg,
    privateKeyCertificateFile: values.private_key_certificate_file === undefined
      ? undefined
      : readKeyCertificate(values.private_key_certificate_file, readFile, issue),
    clientAssertionAudience: values.client_assertion_audience,
    scopes: [...values.scopes],
    usernameClaim: values.username_claim,
    groupsClaim: values.groups_claim,
    rolesClaim: values.roles_claim,
    authorizeParams,
    useUserinfo: values.use_userinfo,
    revokeRefreshTokens: values.revoke_refresh_tokens,
    clockToleranceSec: values.clock_tolerance / 1000, // whole seconds (the schema's wholeSeconds)
    httpTimeoutMs: values.http_timeout,
    maxOpenRequests: values.max_open_requests,
    tlsCaFile: values.tls_ca_file === undefined
      ? undefined
      : readCaFile("oidc.tls_ca_file", values.tls_ca_file, readFile, issue),
  };
  for (const problem of checkOidcConfig(config)) issue(`oidc.${problem.key}`, problem.message);
  // Unedited, the packaged config started and every sign-in then failed at the IdP.
  refusePlaceholder(
    "oidc.client_secret",
    config.clientSecret,
    "set the client secret the identity provider issued for client_id",
    issue,
  );
  const pathProblems = validateClaimPaths(config);
  for (const [key, option] of CLAIM_PATH_OPTIONS) {
    const problem = pathProblems[key];
    if (problem !== undefined) issue(`oidc.${option}`, problem);
  }
  return config;
}

function resolveAuthorization(
  values: Values["authorization"],
  at: string,
  issue: Issue,
): AuthorizationConfig {
  for (const [name, value] of Object.entries(values.required_claims)) {
    // The table is named, not the name in it: the message shows that shortened and escaped.
    const nameProblem = validateRequiredClaimName(name);
    if (nameProblem) {
      issue(`${at}.required_claims`, nameProblem);
      continue;
    }
    const problem = validateRequiredClaim(name, value);
    if (problem) issue(`${at}.required_claims.${name}`, problem);
  }
  values.allowed_groups.forEach((group, index) => {
    const problem = validateGroupName(group);
    if (problem) issue(`${at}.allowed_groups[${index}]`, problem);
  });
  values.allowed_roles.forEach((role, index) => {
    if (role === "") issue(`${at}.allowed_roles[${index}]`, "Must not be empty");
  });
  if (values.common_name_claim !== undefined) {
    const problem = validateClaimPath("Claim path", values.common_name_claim);
    if (problem) issue(`${at}.common_name_claim`, problem);
  }
  return {
    allowedGroups: [...values.allowed_groups],
    allowedRoles: [...values.allowed_roles],
    requiredClaims: { ...values.required_claims },
    commonNameClaim: values.common_name_claim,
  };
}

function resolveClientConfig(
  entries: readonly ClientConfigValues[],
  at: string,
  issue: Issue,
): ClientConfigRule[] {
  return entries.map((entry, index) => {
    if (entry.groups.length === 0) {
      issue(`${at}[${index}].groups`, "Must name at least one group");
    }
    // As allowed_groups: a group written so that it never matches dropped its lines silently.
    entry.groups.forEach((group, groupIndex) => {
      const problem = validateGroupName(group);
      if (problem) issue(`${at}[${index}].groups[${groupIndex}]`, problem);
    });
    entry.lines.forEach((line, lineIndex) => {
      const problem = validateClientConfigLine(line);
      if (problem) issue(`${at}[${index}].lines[${lineIndex}]`, problem);
    });
    return { groups: [...entry.groups], lines: [...entry.lines] };
  });
}

function resolveSessions(values: Values["sessions"], issue: Issue): SessionsConfig {
  const encryptionKey = values.encryption_key;
  const placeholderKey = refusePlaceholder(
    "sessions.encryption_key",
    encryptionKey,
    "use 32 random bytes (e.g. openssl rand -base64 32)",
    issue,
  );
  if (encryptionKey && !placeholderKey) {
    try {
      parseEncryptionKey(encryptionKey);
    } catch (error) {
      issue("sessions.encryption_key", (error as Error).message);
    }
  }
  return {
    backend: values.backend,
    path: values.path,
    lifetimeMs: values.lifetime,
    encryptionKey,
    reauthCheck: values.reauth_check,
    idpUnreachable: values.idp_unreachable,
    maxEntries: values.max_entries,
    sweepIntervalMs: values.sweep_interval,
    recheckIntervalMs: values.recheck_interval,
    maxPerUser: values.max_per_user,
    maxPerUserAction: values.max_per_user_action,
    redis: values.backend === "redis" ? resolveRedis(values, issue) : unusedRedisUrl(values, issue),
    storeUnreachable: values.store_unreachable,
  };
}

/** With another backend the URL is unused, but check-config prints it: no password in it. */
function unusedRedisUrl(values: Values["sessions"], issue: Issue): undefined {
  const problem = values.url === undefined ? undefined : redisUrlPasswordProblem(values.url);
  if (problem !== undefined) issue("sessions.url", problem);
  return undefined;
}

function resolveRedis(values: Values["sessions"], issue: Issue): RedisSettings | undefined {
  for (const problem of checkRedisSweepInterval(values.sweep_interval)) {
    issue(problem.path, problem.message);
  }
  refusePlaceholder("sessions.password", values.password, RANDOM_SECRET, issue);
  if (values.url === undefined) {
    issue("sessions.url", 'Required when sessions.backend = "redis"');
    return undefined;
  }
  const settings: RedisSettings = {
    url: values.url,
    username: values.username,
    password: values.password,
    keyPrefix: values.key_prefix,
    tlsCaFile: values.tls_ca_file,
    storeTimeoutMs: values.store_timeout,
  };
  for (const problem of checkRedisSettings(settings)) issue(problem.path, problem.message);
  return settings;
}

function parseManagement(text: string): ManagementAddress | string {
  if (text.startsWith("unix://")) {
    // A socket's path may hold an "@" (server@udp.sock); withoutUserinfo masks a user in it.
    const path = text.slice("unix://".length);
    if (!path.startsWith("/")) return `Expected "unix:///absolute/path", got "${text}"`;
    return { kind: "unix", path };
  }
  if (text.startsWith("tcp://")) {
    if (hasUserinfo(text)) {
      return 'Expected "tcp://host:port" with no user name or password in it: give the ' +
        "management password with openvpn.password_file";
    }
    const hostPort = parseHostPort(text.slice("tcp://".length));
    if (typeof hostPort === "string") return hostPort;
    return { kind: "tcp", ...hostPort };
  }
  const expected = 'Expected "unix:///path/to/socket" or "tcp://host:port"';
  // "admin:pw@host:7505", the scheme left out: not quoted.
  if (hasUserinfo(text)) return `${expected}, with no user name or password in it`;
  return `${expected}, got "${text}"`;
}

/** Whether two listen addresses would be one socket: the same port on one host or a wildcard. */
function sameSocket(a: { host: string; port: number }, b: { host: string; port: number }) {
  const wildcard = (host: string) => host === "0.0.0.0" || host === "::";
  return a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host));
}

/**
 * Whether an address holds `user:password@`. Its messages must not quote it: check-config, the
 * package's upgrade check and a refused reload's log would print the password, and
 * withoutUserinfo masks only what follows a scheme, which parseManagement cuts off.
 */
function hasUserinfo(text: string): boolean {
  return text.includes("@");
}

/** `got "entry"`, unless the entry may hold a user name or password (hasUserinfo). */
function quotedUnlessUserinfo(entry: string): string {
  return hasUserinfo(entry) ? "with no user name or password in it" : `got "${entry}"`;
}

/** For every address key (http.listen, metrics.listen, openvpn.management's tcp://). */
function parseHostPort(text: string): { host: string; port: number } | string {
  if (hasUserinfo(text)) {
    return 'Expected "host:port" (IPv6 as "[::1]:port") with no user name or password in it';
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    return `Expected "host:port" (IPv6 as "[::1]:port"), got "${text}"`;
  }
  return { host: match[1] ?? match[2]!, port };
}

function parseUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `Expected an absolute URL, ${quotedUnlessUserinfo(text)}`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `Expected an http(s) URL, ${quotedUnlessUserinfo(text)}`;
  }
  return url;
}
