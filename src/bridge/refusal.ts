/**
 * How a refused client is told: `client-deny` (the client gets `AUTH_FAILED,<reason>`) or
 * `client-kill {cid} "HALT,<reason>"`, with the same reason. The one place that says which.
 *
 * Why HALT: clients run with `auth-retry interact` start over after every AUTH_FAILED without
 * asking the user (push.c); openvpn-gui and NetworkManager-openvpn start every connection so. A
 * refusal a retry cannot change then never ends: a client without `webauth` in IV_SSO was denied
 * about once a second for ever (34 times in 30 s, real 2.6 client), and a certificate-only
 * openvpn-gui profile opened a new browser tab after every denied sign-in (with `confirm_login =
 * false` and an IdP session, a policy denial could loop with nobody at the keyboard). HALT ends
 * the client whatever its `auth-retry` (a 2.6 client logs "Halt command was pushed by server
 * ('<reason>')" and exits; openvpn3 treats it as fatal); the user connects again once something
 * changed.
 *
 * Only a new client is halted: a finished browser sign-in (its callback, its timeout) and a
 * CONNECT the decision table refuses. A REAUTH, and a reconnect judged on its session, are denied
 * whatever the reason: that denial ended the session (or refused it on this server), and the
 * retry is a new sign-in, judged on what the IdP says then, which may differ from the claims
 * kept from the last one.
 */
import type { DenialReason } from "../metrics/port.ts";
import type { ClientCommander, SignInRef } from "./commander.ts";
import type { Denial } from "./denial.ts";

/**
 * What refusing a new client for each denial code sends. Every code is placed: a new one must
 * be decided here.
 */
const NEW_CLIENT_REFUSAL: Record<DenialReason, "halt" | "deny"> = {
  // The client cannot do browser sign-in: no retry of the same client can.
  no_webauth: "halt",
  // The user's identity, judged by the policy (identity_policy.ts, username_policy.ts): the next
  // sign-in names the same user with the same claims, until someone changes them at the IdP or
  // in the policy.
  group: "halt",
  role: "halt",
  claim: "halt",
  common_name: "halt",
  missing_claim: "halt",
  username_mismatch: "halt",
  username_unusable: "halt",
  // `check_client_ip`: the retry's tab opens in the same browser on the same network, and with
  // `confirm_login = false` and an IdP session it is refused again with nobody at the keyboard.
  wrong_network: "halt",
  // `max_per_user` with `deny_new`: refused until one of the user's other sessions ends, each
  // retry one more tab; the reason tells the user to disconnect one and try again.
  max_sessions: "halt",
  // `openvpn.max_pending_per_address`: an address with that many sign-ins waiting is most likely
  // a flood, whose retries must not take OpenVPN's places again; HALT stops the client for good
  // (OpenVPN frees its place about 5 s later, when it ends the killed instance).
  too_many_sign_ins: "halt",
  // Nobody finished the sign-in: a retry opens a new tab, for ever, while nobody may be there
  // (5 in 50 s with a 10 s timeout); the user who is there connects again.
  timeout: "halt",
  // The user pressed Cancel at the IdP (a retry would open the tab they just closed), or the IdP
  // refused them by its own policy: their identity again.
  idp_denied: "halt",
  // The IdP failed (unreachable, an error, a bad answer): a retry may succeed.
  idp_error: "deny",
  idp_unreachable: "deny",
  internal_error: "deny",
  store_unavailable: "deny",
  // A session that ended, or a token OpenVPN refused: the retry is what sends the client to the
  // browser. (At a sign-in: its session ended while its answer waited for the link, or its
  // client chose another user's session id, which it drops on the retry.)
  session_invalid: "deny",
  session_expired: "deny",
  recheck_failed: "deny",
};

/**
 * Whether refusing the client for `denial` ends it with HALT. `newClient`: nobody signed in on
 * it yet (a sign-in's answer or timeout, a CONNECT refused by the decision table); false for a
 * REAUTH and for a reconnect judged on its session.
 */
export function haltsClient(denial: Denial, newClient: boolean): boolean {
  return newClient && NEW_CLIENT_REFUSAL[denial.code] === "halt";
}

/** The command that refuses the client, as logs name it. */
export function refusalCommand(denial: Denial, newClient: boolean): "client-deny" | "client-kill" {
  return haltsClient(denial, newClient) ? "client-kill" : "client-deny";
}

/**
 * Refuses the client at `cid`, `kid` for `denial`: `client-deny`, or HALT (haltsClient), with
 * the denial's reasons. Rejects as the command does (commander.ts).
 */
export function sendRefusal(
  commander: ClientCommander,
  client: { cid: number; kid: number; signIn?: SignInRef | undefined },
  denial: Denial,
  newClient: boolean,
): Promise<void> {
  const { cid, kid, signIn } = client;
  return haltsClient(denial, newClient)
    ? commander.halt(cid, kid, denial.logReason, denial.reason, signIn)
    : commander.deny(cid, kid, denial.logReason, denial.reason, signIn);
}
