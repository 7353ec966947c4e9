import type { Language } from "./languages.ts";
import type { Secret } from "./secret.ts";

/** Where the OpenVPN management interface listens. */
export type ManagementAddress =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

export type ClientAuthMethod =
  | "client_secret_basic"
  | "client_secret_post"
  | "private_key_jwt"
  | "none";

export type LogLevel = "debug" | "info" | "warning" | "error";

/** Config lines sent in the `client-auth` block to users in any of `groups`. */
export interface ClientConfigRule {
  groups: string[];
  lines: string[];
}

/**
 * One OpenVPN server the bridge answers for (`[openvpn]` or each `[[openvpn]]`): its management
 * interface and the policy its clients are held to.
 */
export interface OpenvpnServerConfig {
  /** Unique; letters, digits and `-`. Sessions and pending logins record it. */
  name: string;
  management: ManagementAddress;
  password: Secret | undefined;
  authPendingTimeoutMs: number;
  /**
   * Sign-ins that may wait for their answer from one client address (an IPv6 /64) at once; 0: any
   * number. Each holds one of OpenVPN's `max-clients` places.
   */
  maxPendingPerAddress: number;
  bypassCommonNames: RegExp[];
  commandTimeoutMs: number;
  reconnectMaxDelayMs: number;
  /** How the user name the VPN client sends must relate to the signed-in identity. */
  usernamePolicy: "any" | "empty_or_match" | "match";
  /**
   * The flags of `WEB_AUTH:<flags>:<url>` in each `client-pending-auth` (`external`: open the
   * system browser, not a webview); checked by management/web_auth_flags.ts.
   */
  webAuthFlags: readonly string[];
  /** The server's own `[openvpn.authorization]`, else the top-level `[authorization]`. */
  authorization: AuthorizationConfig;
  /** The server's own `[[openvpn.client_config]]`, else the top-level `[[client_config]]`. */
  clientConfig: ClientConfigRule[];
}

/** `[http]`: the sign-in pages. */
export interface HttpConfig {
  listen: { host: string; port: number };
  /** Public base URL without trailing slash, e.g. `https://vpn.example.com`. */
  baseUrl: URL;
  secret: Secret;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  trustedProxies: string[];
  confirmLogin: boolean;
  checkClientIp: boolean;
  templatesDir: string | undefined;
  /** Pages when Accept-Language matches none; always the VPN client's messages. */
  defaultLanguage: Language;
  /** Origins the confirm form may lead to besides the issuer's and the authorization endpoint's. */
  formActionOrigins: string[];
  maxConnections: number;
  maxConnectionsPerClient: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
}

/** `[oidc]`: the relying party. */
export interface OidcConfig {
  issuer: URL;
  clientId: string;
  clientSecret: Secret | undefined;
  clientAuthMethod: ClientAuthMethod;
  /** PKCS#8 PEM private key for `private_key_jwt`. */
  privateKey: Secret | undefined;
  privateKeyAlg: string;
  /**
   * `private_key_certificate_file`: the key's certificate, read when the config is loaded; its
   * thumbprints go in each assertion's header (oidc/key_certificate.ts: Entra ID wants them).
   */
  privateKeyCertificateFile: KeyCertificate | undefined;
  /**
   * `client_assertion_audience`: the `aud` of a private_key_jwt assertion, the issuer
   * (oauth4webapi's choice) or the token endpoint (OpenID Connect Core 9's; Entra ID wants it).
   */
  clientAssertionAudience: ClientAssertionAudience;
  scopes: string[];
  usernameClaim: string;
  groupsClaim: string;
  rolesClaim: string | undefined;
  authorizeParams: Record<string, string>;
  useUserinfo: boolean;
  /**
   * RFC 7009 revocation of the refresh tokens of ended sessions and refused sign-ins. Off for a
   * Keycloak that ends all of a user's sessions of the client on one revocation (#35486).
   */
  revokeRefreshTokens: boolean;
  clockToleranceSec: number;
  httpTimeoutMs: number;
  /** Requests open at the IdP at once (src/oidc/request_gate.ts). */
  maxOpenRequests: number;
  /**
   * `tls_ca_file`: CAs the IdP's certificate may chain to besides the runtime's default roots,
   * read when the config is loaded (at start and on each reload).
   */
  tlsCaFile: TrustedCaFile | undefined;
}

export type ClientAssertionAudience = "issuer" | "token_endpoint";

/** The private_key_jwt key's certificate as loaded: its file's path and its PEM text. */
export interface KeyCertificate {
  readonly path: string;
  readonly pem: string;
}

/** A PEM file of CA certificates as loaded: its path and each certificate's PEM text. */
export interface TrustedCaFile {
  readonly path: string;
  readonly certificates: readonly string[];
}

/** `[authorization]`: who may connect. */
export interface AuthorizationConfig {
  allowedGroups: string[];
  allowedRoles: string[];
  requiredClaims: Record<string, unknown>;
  /** When set, the certificate common name must equal this claim. */
  commonNameClaim: string | undefined;
}

/** The Redis/Valkey connection of `sessions.backend = "redis"`. */
export interface RedisSettings {
  /** `redis://[user@]host[:port][/db]`, or `rediss://` for TLS (the password: `password`). */
  url: string;
  /** An ACL user (also possible in the URL). */
  username: string | undefined;
  password: Secret | undefined;
  keyPrefix: string;
  /**
   * PEM file with the CA that signed a `rediss://` server's certificate, trusted instead of the
   * runtime's default roots (README, "Certificate authorities").
   */
  tlsCaFile: string | undefined;
  /** The longest a store operation may take before it counts as failed. */
  storeTimeoutMs: number;
}

/** `[sessions]`: the session store. */
export interface SessionsConfig {
  backend: "memory" | "file" | "redis";
  path: string;
  lifetimeMs: number;
  encryptionKey: Secret | undefined;
  reauthCheck: "none" | "refresh";
  idpUnreachable: "deny" | "allow";
  maxEntries: number;
  sweepIntervalMs: number;
  /** Background re-check of every bound session at the IdP; undefined: off. */
  recheckIntervalMs: number | undefined;
  /** Sessions one IdP subject may hold at once; 0: no limit. */
  maxPerUser: number;
  maxPerUserAction: "kill_oldest" | "deny_new";
  /** Set when `backend` is "redis". */
  redis: RedisSettings | undefined;
  /** REAUTH while the store cannot be reached: deny, or accept what this process knows. */
  storeUnreachable: "deny" | "allow";
}

/** `[cluster]`: several bridge instances sharing the links through Redis leases. */
export interface ClusterConfig {
  /** Names this instance in logs, metrics and /readyz; default host name and pid. */
  instanceId: string;
  leaseMs: number;
}

/** `[control]`: the local admin socket (`openvpn-auth-oidc sessions ...`). */
export interface ControlConfig {
  /** Absolute path of the unix socket; empty: no admin socket. */
  socket: string;
}

/** `[metrics]`: `listen` undefined means no metrics endpoint. */
export interface MetricsConfig {
  listen: { host: string; port: number } | undefined;
}

export interface LogConfig {
  level: LogLevel;
  format: "text" | "json";
}

/**
 * The configuration after loading: defaults applied, durations in milliseconds, secrets read
 * from their files, everything validated. Everything downstream takes this, never raw TOML.
 */
export interface ResolvedConfig {
  /** At least one; names unique. */
  servers: OpenvpnServerConfig[];
  http: HttpConfig;
  oidc: OidcConfig;
  /** The policy of servers without their own `[openvpn.authorization]`. */
  authorization: AuthorizationConfig;
  /** The lines of servers without their own `[[openvpn.client_config]]`. */
  clientConfig: ClientConfigRule[];
  sessions: SessionsConfig;
  control: ControlConfig;
  metrics: MetricsConfig;
  log: LogConfig;
  /** Set when `[cluster] enabled = true`; absent, every link and command stays local. */
  cluster?: ClusterConfig;
}
