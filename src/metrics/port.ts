/**
 * What the bridge counts, as a small interface injected from the composition root: the parts
 * that count never know whether metrics are on. Every label value is from a fixed set named
 * here (never a user name, address or token), so all counters exist from the start and
 * counting allocates nothing.
 */

export const LOGIN_RESULTS = ["admitted", "denied", "error", "timeout"] as const;
export type LoginResult = typeof LOGIN_RESULTS[number];

export const CLIENT_EVENTS = ["connect", "reauth", "established", "disconnect"] as const;
export type ClientEventKind = typeof CLIENT_EVENTS[number];

export const CLIENT_ANSWERS = ["auth", "auth_nt", "pending", "deny", "none"] as const;
export type ClientAnswer = typeof CLIENT_ANSWERS[number];

/**
 * Why a client was denied, by code. Policy verdicts (group, role, claim, common_name,
 * missing_claim), the sign-in itself (idp_denied: cancelled or refused at the IdP, idp_error,
 * timeout, wrong_network, username_unusable), the IdP not answering at sign-in or at a refresh
 * check (idp_unreachable), the session at CONNECT/REAUTH (no_webauth, session_invalid,
 * session_expired, recheck_failed), sessions.max_per_user (max_sessions), an unreachable session
 * store (store_unavailable) and internal_error. README lists them (a test holds it to this list).
 */
export const DENIAL_REASONS = [
  "group",
  "role",
  "claim",
  "common_name",
  "missing_claim",
  "idp_denied",
  "idp_error",
  "idp_unreachable",
  "timeout",
  "wrong_network",
  "username_unusable",
  "username_mismatch",
  "no_webauth",
  "session_invalid",
  "session_expired",
  "recheck_failed",
  "max_sessions",
  "too_many_sign_ins",
  "store_unavailable",
  "internal_error",
] as const;
export type DenialReason = typeof DENIAL_REASONS[number];

export const IDP_ENDPOINTS = ["discovery", "jwks", "token", "userinfo", "revocation"] as const;
export type IdpEndpoint = typeof IDP_ENDPOINTS[number];

export const MANAGEMENT_COMMANDS = [
  "client-auth",
  "client-auth-nt",
  "client-pending-auth",
  "client-deny",
  "client-kill",
] as const;
export type ManagementCommandName = typeof MANAGEMENT_COMMANDS[number];

/** Counting for one OpenVPN server; resolved once per server, then used on the hot path. */
export interface ServerMetrics {
  login(result: LoginResult): void;
  clientEvent(event: ClientEventKind, answer: ClientAnswer): void;
  managementReconnect(): void;
  /**
   * A client OpenVPN admitted without asking the bridge (its config lacks
   * `management-client-auth`, or its `auth-gen-token` lacks `external-auth` and the client
   * reconnected with its token), then disconnected (unasked_admissions.ts). Optional only so that
   * test doubles written before it need not count it; both implementations here do.
   */
  unaskedAdmission?(): void;
  /** Counted in `denials_total{reason}`, which has no server label. */
  denial(reason: DenialReason): void;
}

export interface Metrics {
  server(name: string): ServerMetrics;
  denial(reason: DenialReason): void;
  idpRequest(endpoint: IdpEndpoint, seconds: number): void;
  managementCommand(command: ManagementCommandName, seconds: number): void;
}

const noServerMetrics: ServerMetrics = {
  login() {},
  clientEvent() {},
  managementReconnect() {},
  unaskedAdmission() {},
  denial() {},
};

/** Metrics off: every call does nothing. */
export const noMetrics: Metrics = {
  server: () => noServerMetrics,
  denial() {},
  idpRequest() {},
  managementCommand() {},
};
