/**
 * The log line of a denial (admission.ts sends, counts and audits it). A request the decision
 * table refused before anyone signed in is logged by its certificate, on the server's logger;
 * a client judged by the policy by the identity the IdP named.
 */
import type { Logger } from "@logtape/logtape";
import type { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import type { StoreFullError } from "../sessions/store_full.ts";
import type { Session } from "../sessions/types.ts";
import type { ClientSide } from "./admission_types.ts";
import type { Denial } from "./denial.ts";
import { logDue, type WarningInterval } from "../warning_interval.ts";
import { loggedCertificateName } from "../logged_certificate.ts";
import { words } from "../log.ts";
import { requestWords } from "./client_request_words.ts";

/** Who a denial's log and audit lines name besides the client. */
export type DenyContext =
  /**
   * Judged by the policy: the identity the IdP named, when known, and whether it was judged
   * after a refresh at the IdP.
   */
  | { who?: { username: string; subject: string } | undefined; byRefreshCheck?: boolean }
  /**
   * Refused by the decision table (decide.ts): `presented` is the stored session the request's
   * session id named, if any (the audit line names its user); `storeError` is why the store
   * could not be asked, if it could not (decide_without_store.ts), or why it would not take the
   * sign-in (full at `sessions.max_entries`). `flood`: a refusal that comes
   * in floods (`openvpn.max_pending_per_address`), warned about at most once per its interval.
   */
  | {
    presented: Session | undefined;
    storeError?: StoreUnavailableError | StoreFullError;
    flood?: WarningInterval;
  };

export function logDenial(
  log: Logger,
  client: ClientSide,
  denial: Denial,
  context: DenyContext,
  storeFailureWarning: WarningInterval,
): void {
  if ("presented" in context) {
    // Refused before a session was resumed (the decision table, the store): the line knows no
    // user, so the certificate names the client, not as if it were one.
    const { storeError, flood } = context;
    const server = log.with({ server: client.server });
    const { cid, kid, kind } = client;
    const commonName = loggedCertificateName(client.commonName);
    const request = requestWords(kind, false);
    const reason = words(denial.logReason);
    if (flood !== undefined) {
      logDue(
        flood,
        server,
        "warning",
        "{request} on cid {cid} (certificate {commonName}) from {clientIp} denied: {reason}",
        { cid, commonName, kind, request, clientIp: client.clientIp, reason },
      );
    } else if (storeError === undefined) {
      server.info("{request} on cid {cid} (certificate {commonName}) denied: {reason}", {
        cid,
        kid,
        commonName,
        kind,
        request,
        reason,
      });
    } else {
      logDue(
        storeFailureWarning,
        server,
        "warning",
        "{request} on cid {cid} (certificate {commonName}) denied: {reason}: {error}",
        {
          cid,
          commonName,
          kind,
          request,
          error: afterReason(storeError.message, denial.logReason),
          reason,
        },
      );
    }
    return;
  }
  // Text logs quote every property, so the optional parts are part of the template. The code is
  // not called `code`: the log masks a property of that name (an OAuth authorization code), and
  // with it every equal value in the message, which hid the reason (`group`) as `***`. A sign-in
  // the IdP named nobody for (it failed there) is told apart in words: no placeholder in a
  // user's place, which a user of that name would read the same as.
  const username = context.who?.username || undefined;
  const message =
    (username === undefined
      ? "{request} on cid {cid} (certificate {commonName}) denied before the identity provider named its user"
      : "{request} of {username} (cid {cid}, certificate {commonName}) denied") +
    (context.byRefreshCheck ? " by the refresh check" : "") + ": {reason}" +
    (denial.hint === undefined ? "" : "; {hint}");
  log.info(message, {
    kind: client.kind,
    request: requestWords(client.kind, true),
    username,
    cid: client.cid,
    commonName: loggedCertificateName(client.commonName),
    reason: words(denial.logReason),
    denialCode: denial.code,
    hint: denial.hint === undefined ? undefined : words(denial.hint),
  });
}

/**
 * `message` without a leading `reason` it repeats: a store error begins with what the denial's
 * reason says already (`Session store unreachable: redis: ...`), and the line read `denied:
 * session store unreachable: "Session store unreachable: redis: ..."`. Whole when it does not.
 */
function afterReason(message: string, reason: string): string {
  const prefix = `${reason}: `;
  return message.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()
    ? message.slice(prefix.length)
    : message;
}
