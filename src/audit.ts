/**
 * The audit log: one structured line per decision that changes who is on the network, and one
 * when a client's tunnel comes up and when it ends, under a category of its own
 * (`openvpn-auth-oidc.audit`) so it can be routed apart from operational logs. Every line has the
 * same properties, null where one does not apply (README lists them): `event`, then who and
 * where; `reason` is a fixed code, never free text from the IdP or the client.
 */
import { AUDIT_CATEGORY, AUDIT_REFUSALS, getLogger } from "./log.ts";
import { loggedCertificateName } from "./logged_certificate.ts";
import { loggedBytes, loggedBytesOf, MAX_LOGGED_BYTES_PER_UNIT } from "./logged_bytes.ts";

/**
 * Every event an audit line can have (README lists them). A refusal (AUDIT_REFUSALS) is a notice
 * in the journal, the others info. `established`: a client's tunnel is up (OpenVPN's
 * ESTABLISHED), with the VPN address it was given; `client_left`: a client with a session, or
 * on `bypass_common_names`, left (OpenVPN's DISCONNECT), with how long and how much.
 */
export const AUDIT_EVENTS = [
  "admitted",
  ...AUDIT_REFUSALS,
  "session_ended",
  "established",
  "client_left",
] as const;

export type AuditEvent = typeof AUDIT_EVENTS[number];

/**
 * Why a session ended: the reason of its `session_ended` line. README lists them (a test holds
 * it to this list).
 */
export const SESSION_END_REASONS = [
  "logout",
  "revoked",
  "recheck_failed",
  "disconnected",
  // Over `sessions.max_per_user`: the user signed in on another device.
  "max_per_user",
  // The same device (certificate name, server) signed in again: session_limit.ts, replacedBy.
  "replaced",
  "idp_session_expired",
  // OpenVPN refused the token its client renegotiated with (expired or invalid): see decide.ts.
  "token_refused",
  // Removed by the sweep at the end of `sessions.lifetime` (one that held a refresh token).
  "expired",
] as const;
export type SessionEndReason = typeof SESSION_END_REASONS[number];

export interface AuditSubject {
  server: string;
  cid: number | undefined;
  /**
   * The client's certificate name, empty for a client without a certificate; undefined when not
   * known (a client denied by its ids alone).
   */
  commonName: string | undefined;
  clientIp: string;
  /** Empty when not known yet (denied before the IdP said who it is). */
  username: string;
  subject: string;
  /**
   * The id the session is stored under (OpenVPN's `session_id`, or one of the bridge's own),
   * which ties the lines of one session together; undefined without one. It lets nobody in: a
   * reconnect needs the token OpenVPN signed, and `sessions list` shows it too.
   */
  sessionId?: string | undefined;
  /** The browser's address at a sign-in's callback; undefined for any other decision. */
  browserIp?: string | undefined;
}

/**
 * What a line of one kind adds, from OpenVPN's ENV; null on every other line, so that all lines
 * have the same keys.
 */
export interface AuditDetails {
  /** The client's source port (`untrusted_port`): with clientIp, its flow behind a NAT. */
  clientPort?: number | undefined;
  /** The client's address inside the VPN (`ifconfig_pool_remote_ip`, `..._ip6`). */
  virtualIp?: string | undefined;
  virtualIp6?: string | undefined;
  /** How long the client was connected, in seconds (`time_duration`). */
  durationSec?: number | undefined;
  /** Bytes the server received from the client (`bytes_received`) and sent it (`bytes_sent`). */
  bytesReceived?: number | undefined;
  bytesSent?: number | undefined;
}

const log = getLogger(...AUDIT_CATEGORY.slice(1));

/**
 * What each event's text line says before and after who and where. The text names only the
 * facts a line has: a JSON line has every property, null or empty where absent (README lists
 * them, and a log pipeline reads them), but a text line reading `cid null`, `VPN address
 * "10.8.0.6", null` or `denied "" (subject "")` says nothing to the operator who reads it.
 */
const MESSAGES: Record<AuditEvent, { verb: string; tail: string }> = {
  admitted: { verb: "admitted", tail: "" },
  denied: { verb: "denied", tail: ": {reason}" },
  reauth_denied: { verb: "REAUTH denied", tail: ": {reason}" },
  recheck_denied: { verb: "re-check refused", tail: ": {reason}" },
  session_ended: { verb: "session ended", tail: ": {reason}" },
  established: { verb: "established", tail: "" },
  // leftText(): the facts its DISCONNECT gave.
  client_left: { verb: "client left", tail: "" },
};

/** The cid of a line: none when the session is no client's (ended while none was connected). */
function cidText(cid: number | undefined): string {
  return cid === undefined ? " with no client connected" : " cid {cid}";
}

/**
 * Who, after the event's verb: the user once the IdP said who it is. Without one, a first
 * connect's denial says it came before anyone signed in; any other line has no user to name (a
 * client on `bypass_common_names`, or a session the store could not be read for).
 */
function whoText(who: AuditSubject): string {
  if (who.username === "") return "";
  return who.subject === "" ? " {username}" : " {username} (subject {subject})";
}

/** The VPN addresses of an `established` line, each one OpenVPN gave (an IPv4-only pool: one). */
function vpnAddressText(details: AuditDetails | undefined): string {
  const addresses = [
    details?.virtualIp === undefined ? undefined : "{virtualIp}",
    details?.virtualIp6 === undefined ? undefined : "{virtualIp6}",
  ].filter((address) => address !== undefined);
  return addresses.length === 0 ? ": no VPN address" : `: VPN address ${addresses.join(", ")}`;
}

/**
 * How long and how much a client that left was connected, each as its DISCONNECT told (a value
 * OpenVPN left out, or sent as no number, is not said: `after null s` read as a fault).
 */
function leftText(details: AuditDetails | undefined): string {
  const received = details?.bytesReceived !== undefined;
  const sent = details?.bytesSent !== undefined;
  const bytes = received && sent
    ? "{bytesReceived} bytes received, {bytesSent} sent"
    : received
    ? "{bytesReceived} bytes received"
    : sent
    ? "{bytesSent} bytes sent"
    : "";
  const duration = details?.durationSec === undefined ? "" : " after {durationSec} s";
  return bytes === "" ? duration : `${duration}: ${bytes}`;
}

/** The text line's template for one audit line, naming the facts it has only. */
function auditMessage(
  event: AuditEvent,
  who: AuditSubject,
  reason: string | undefined,
  details: AuditDetails | undefined,
): string {
  const cid = cidText(who.cid);
  // An admission with a reason let in no user: a common name on `bypass_common_names`.
  if (event === "admitted" && reason !== undefined) {
    return `admitted certificate {commonName} on {server}${cid}, from {clientIp}: {reason}`;
  }
  const { verb, tail } = MESSAGES[event];
  // Unknown to a request OpenVPN sent without them (a malformed block): not said.
  const certificate = who.commonName === undefined ? "" : ", certificate {commonName}";
  const from = who.clientIp === "" ? "" : ", from {clientIp}";
  const where = `on {server}${cid}${certificate}${from}`;
  const user = whoText(who);
  const beforeSignIn = user === "" && event === "denied" ? " before anyone signed in" : "";
  const end = event === "established"
    ? `${details?.clientPort === undefined ? "" : " port {clientPort}"}${vpnAddressText(details)}`
    : event === "client_left"
    ? leftText(details)
    : tail;
  return `${verb}${user} ${where}${beforeSignIn}${end}`;
}

/**
 * Writes one audit line. `reason` is a fixed code (denial reason or SessionEndReason; for
 * `admitted`, `bypass` when no user signed in).
 */
export function audit(
  event: AuditEvent,
  who: AuditSubject,
  reason?: string,
  details?: AuditDetails,
): void {
  const message = auditMessage(event, who, reason, details);
  const properties: Record<string, unknown> = {
    event,
    username: who.username,
    subject: who.subject,
    server: who.server,
    cid: who.cid ?? null,
    // Unknown is empty, as the address is; none is said (a client without a certificate).
    commonName: who.commonName === undefined ? "" : loggedCertificateName(who.commonName),
    clientIp: who.clientIp,
    reason: reason ?? null,
    sessionId: who.sessionId ?? null,
    browserIp: who.browserIp ?? null,
    clientPort: details?.clientPort ?? null,
    virtualIp: details?.virtualIp ?? null,
    virtualIp6: details?.virtualIp6 ?? null,
    durationSec: details?.durationSec ?? null,
    bytesReceived: details?.bytesReceived ?? null,
    bytesSent: details?.bytesSent ?? null,
  };
  for (const key in properties) {
    const value = properties[key];
    if (typeof value === "string") properties[key] = capped(value);
  }
  log.info(message, properties);
}

/**
 * Bytes one value of an audit line takes at most where the line writes it (loggedBytes), the
 * marker of a cut included. journald splits a line longer than its LineMax (48 KiB by default)
 * into several entries, and a JSON line split so is no JSON: a claim of 30,000 characters (a
 * user name, which the line holds twice, in its message and its property) made every line
 * naming that user unreadable. Bytes, not characters: a control character is written in up to
 * ten, and a cap of 1,024 characters let a user name of them make lines of 26 KiB. At this
 * cap a line whose user name and subject are both cut is under 5 KiB.
 */
export const MAX_VALUE_BYTES = 1024;

/** A value cut short ends so: `…(+28993 chars)`, with how many UTF-16 units it had more. */
function cutMarker(more: number): string {
  return `…(+${more} chars)`;
}

/**
 * `value` whole if it is written in MAX_VALUE_BYTES, else as much of it as leaves room for the
 * marker. The walk is by code points, so a surrogate pair is never split, and it stops once the
 * bytes run out: a value of megabytes costs no more than one of a kilobyte.
 */
function capped(value: string): string {
  if (value.length * MAX_LOGGED_BYTES_PER_UNIT <= MAX_VALUE_BYTES) return value;
  // The marker of a cut after nothing is the longest one.
  const room = MAX_VALUE_BYTES - loggedBytesOf(cutMarker(value.length));
  let bytes = 0;
  let end = 0;
  let kept = 0;
  for (const c of value) {
    bytes += loggedBytes(c);
    if (bytes > MAX_VALUE_BYTES) return value.slice(0, kept) + cutMarker(value.length - kept);
    end += c.length;
    if (bytes <= room) kept = end;
  }
  return value;
}

/** Who and where, for the audit line: the client side, with the identity once known. */
export function auditSubject(
  where: {
    server: string;
    cid: number | undefined;
    commonName: string | undefined;
    clientIp?: string;
    browserIp?: string | undefined;
  },
  who?: {
    username: string;
    subject: string;
    clientIp?: string | undefined;
    sessionId?: string | undefined;
  },
): AuditSubject {
  return {
    server: where.server,
    cid: where.cid,
    commonName: where.commonName,
    clientIp: where.clientIp || (who?.clientIp ?? ""),
    username: who?.username ?? "",
    subject: who?.subject ?? "",
    sessionId: who?.sessionId,
    browserIp: where.browserIp,
  };
}
