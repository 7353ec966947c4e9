/**
 * Which command each refusal sends (refusal.ts): a new client refused for a reason a retry
 * cannot change is ended with `client-kill {cid} "HALT,<reason>"`, everything else gets
 * `client-deny`, as does every REAUTH and reconnect judged on its session.
 */
import { assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { RecordingCommander, wireOf } from "../../support/recording_commander.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";
import {
  type Denial,
  idpDenial,
  INTERNAL_ERROR,
  MALFORMED_REQUEST,
  NO_REFRESH_TOKEN,
  NO_WEBAUTH,
  REFRESH_TOKEN_EXPIRED,
  SESSION_EXPIRED,
  SESSION_ID_TAKEN,
  SIGN_IN_TIMED_OUT,
  STORE_FULL,
  STORE_UNAVAILABLE,
  TOKEN_REJECTED,
  TOO_MANY_SESSIONS,
  UNKNOWN_SERVER,
  UNKNOWN_SESSION,
  UNUSABLE_USERNAME,
  USERNAME_MISMATCH,
  WRONG_NETWORK,
} from "../../../src/bridge/denial.ts";
import { judge, type PolicyConfig } from "../../../src/bridge/identity_policy.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { haltsClient, refusalCommand, sendRefusal } from "../../../src/bridge/refusal.ts";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
} from "../../../src/oidc/errors.ts";

const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };

/** The denial `policy` judges ALICE's `claims` with, as a sign-in's verdict carries it. */
function policyDenial(
  authorization: Partial<PolicyConfig["authorization"]>,
  claims: Record<string, unknown> = ALICE,
): Denial {
  const verdict = judge(claims, "laptop", {
    ...TEST_POLICY,
    authorization: { ...TEST_POLICY.authorization, ...authorization },
  });
  if (verdict.allow) throw new Error("the policy admitted the user");
  return verdict.denial;
}

/** Refusals a retry of the same client cannot change: a new client is halted. */
const HALTED: Array<[string, Denial]> = [
  ["no webauth in IV_SSO", NO_WEBAUTH],
  ["not in an allowed group", policyDenial({ allowedGroups: ["/admins"] })],
  ["no allowed role", policyDenial({ allowedRoles: ["vpn"] })],
  ["a required claim", policyDenial({ requiredClaims: { email_verified: true } })],
  ["the certificate's claim", policyDenial({ commonNameClaim: "cn" })],
  ["no user name claim", policyDenial({}, { sub: "u-1", groups: ["/vpn-users"] })],
  ["the user name policy", USERNAME_MISMATCH.match],
  ["the user name policy (empty allowed)", USERNAME_MISMATCH.empty_or_match],
  ["an unusable user name", UNUSABLE_USERNAME],
  ["check_client_ip", WRONG_NETWORK],
  ["max_per_user deny_new", TOO_MANY_SESSIONS],
  ["the sign-in timed out", SIGN_IN_TIMED_OUT],
  [
    "cancelled at the IdP (access_denied)",
    idpDenial(new AuthorizationResponseError("access_denied", "User cancelled"), "idp_error"),
  ],
];

/** Failures a retry may get past, and sessions that ended: denied, so the client retries. */
const DENIED: Array<[string, Denial]> = [
  ["the IdP unreachable", idpDenial(new IdpUnreachableError("ECONNREFUSED"), "idp_error")],
  [
    "another error from the IdP",
    idpDenial(new AuthorizationResponseError("temporarily_unavailable", "busy"), "idp_error"),
  ],
  ["a code the IdP refused", idpDenial(new IdpRejectedError("invalid_grant"), "idp_error")],
  ["an ID token that failed", idpDenial(new OidcError("invalid_id_token", "bad"), "idp_error")],
  ["a bad callback", idpDenial(new OidcError("invalid_callback", "bad"), "idp_error")],
  ["an internal error", INTERNAL_ERROR],
  ["an unknown server", UNKNOWN_SERVER],
  ["a malformed request", MALFORMED_REQUEST],
  ["the store unreachable", STORE_UNAVAILABLE],
  ["the store full", STORE_FULL],
  ["a session that ended", UNKNOWN_SESSION],
  ["another user's session id", SESSION_ID_TAKEN],
  ["a rejected token", TOKEN_REJECTED],
  ["a session past its lifetime", SESSION_EXPIRED],
  ["a refresh token expired at the IdP", REFRESH_TOKEN_EXPIRED],
  ["no refresh token to re-check with", NO_REFRESH_TOKEN],
];

/** The command `denial` refuses cid 4, kid 1 with, by its kind (`halt` or `deny`). */
async function sentFor(denial: Denial, newClient: boolean): Promise<string> {
  const commander = new RecordingCommander();
  await sendRefusal(commander, { cid: 4, kid: 1 }, denial, newClient);
  assertEquals(commander.commands.length, 1);
  return commander.commands[0]!.kind;
}

Deno.test("a new client refused for a reason a retry cannot change is halted, with the reason it would have been denied with", async () => {
  for (const [name, denial] of HALTED) {
    assertEquals([name, await sentFor(denial, true)], [name, "halt"]);
    assertEquals([name, refusalCommand(denial, true)], [name, "client-kill"]);
  }
  // Each counted under its own denial reason.
  assertEquals(HALTED.map(([, denial]) => denial.code), [
    "no_webauth",
    "group",
    "role",
    "claim",
    "common_name",
    "missing_claim",
    "username_mismatch",
    "username_mismatch",
    "username_unusable",
    "wrong_network",
    "max_sessions",
    "timeout",
    "idp_denied",
  ]);
});

Deno.test("a new client refused for a failure or an ended session is denied: its retry may get in", async () => {
  for (const [name, denial] of DENIED) {
    assertEquals([name, await sentFor(denial, true)], [name, "deny"]);
    assertEquals([name, refusalCommand(denial, true)], [name, "client-deny"]);
  }
});

Deno.test("a REAUTH or a reconnect judged on its session is denied whatever the reason: its retry signs in anew", async () => {
  for (const [name, denial] of [...HALTED, ...DENIED]) {
    assertEquals([name, haltsClient(denial, false)], [name, false]);
    assertEquals([name, await sentFor(denial, false)], [name, "deny"]);
  }
});

Deno.test("sendRefusal() gives the halt the denial's reasons and the sign-in it answers, as a deny", async () => {
  const commander = new RecordingCommander();
  const signIn = { loginId: "AAAAAAAAAAAAAAAAAAAAAA", openvpnRun: "4242@1795878880:CONNECTED" };
  await sendRefusal(commander, { cid: 4, kid: 1, signIn }, TOO_MANY_SESSIONS, true);
  await sendRefusal(commander, { cid: 5, kid: 2, signIn }, TOO_MANY_SESSIONS, false);
  const { logReason: reason, reason: clientReason } = TOO_MANY_SESSIONS;
  assertEquals(commander.commands, [
    { kind: "halt", cid: 4, kid: 1, reason, clientReason, signIn },
    { kind: "deny", cid: 5, kid: 2, reason, clientReason, signIn },
  ]);
  assertEquals(commander.commands.map(wireOf), [
    `client-kill 4 "HALT,${clientReason}"`,
    `client-deny 5 2 "${reason}" "${clientReason}"`,
  ]);
});

Deno.test("the management commander halts with client-kill HALT and the client's reason, timed as client-kill", async () => {
  const { connection, sent } = scriptedConnection((_command, count) => ({
    ticket: count,
    type: "success",
    message: "client-kill command succeeded",
  }));
  const timed: string[] = [];
  const commander = managementCommander(connection, {
    managementCommand: (name) => timed.push(name),
  });
  await commander.halt(12, 1, "group", 'Not in "vpn"');
  assertEquals(sent, ['client-kill 12 "HALT,Not in \\"vpn\\""']);
  assertEquals(timed, ["client-kill"]);
});
