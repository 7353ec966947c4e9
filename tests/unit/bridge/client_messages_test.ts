import { assert, assertEquals } from "../../support/assert.ts";
import {
  CLIENT_MESSAGES,
  clientMessage,
  localizedCommander,
} from "../../../src/bridge/client_messages.ts";
import { KILL_MESSAGE, killMessage } from "../../../src/bridge/session_end.ts";
import * as denials from "../../../src/bridge/denial.ts";
import { judge } from "../../../src/bridge/identity_policy.ts";
import { checkUsername } from "../../../src/bridge/username_policy.ts";
import { clientDeny, clientHalt, clientKill } from "../../../src/management/commands.ts";
import { OidcError, type OidcErrorCode } from "../../../src/oidc/errors.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

const OIDC_CODES: OidcErrorCode[] = [
  "access_denied",
  "idp_error",
  "invalid_state",
  "invalid_callback",
  "invalid_id_token",
  "invalid_response",
  "invalid_grant",
  "idp_unreachable",
];

/** Client messages the bridge produces, gathered from the code that produces them. */
function producedMessages(): string[] {
  const policy = {
    ...TEST_POLICY,
    oidc: { ...TEST_POLICY.oidc, rolesClaim: "roles" },
    authorization: {
      allowedGroups: ["/vpn-users"],
      allowedRoles: ["vpn"],
      requiredClaims: { email_verified: true },
      commonNameClaim: "cn",
    },
  };
  const user = { sub: "s", preferred_username: "u" };
  const verdicts = [
    judge({ ...user, groups: [] }, "x", policy),
    judge({ ...user, groups: ["/vpn-users"], roles: [] }, "x", policy),
    judge({ ...user, groups: ["/vpn-users"], roles: ["vpn"] }, "x", policy),
    judge({ ...user, groups: ["/vpn-users"], roles: ["vpn"], email_verified: true }, "x", policy),
    judge({ sub: "s" }, "x", policy),
  ];
  return [
    ...fixedDenialReasons(),
    ...(["match", "empty_or_match"] as const).map((policy) =>
      checkUsername(policy, "someone-else", { username: "u" }).denial!.reason
    ),
    ...OIDC_CODES.map((code) => new OidcError(code, "test").reason),
    ...verdicts.map((verdict) => (verdict.allow ? "" : verdict.denial.reason)),
    ...(["max-per-user", "admin-revoke"] as const).map((reason) =>
      killMessage(reason).slice(`${KILL_MESSAGE},`.length)
    ),
  ];
}

/** The user text of every fixed denial denial.ts exports (alone or in a record). */
function fixedDenialReasons(): string[] {
  const reasons: string[] = [];
  const visit = (value: unknown) => {
    if (typeof value !== "object" || value === null) return;
    if ("logReason" in value && "reason" in value) reasons.push(String(value.reason));
    else Object.values(value).forEach(visit);
  };
  Object.values(denials).forEach(visit);
  return reasons;
}

Deno.test("every client message the bridge produces has a German, French and Spanish text", () => {
  // INTERNAL_ERROR, UNKNOWN_SERVER, WRONG_NETWORK, the two USERNAME_MISMATCH ones, the
  // decision table's four, STORE_UNAVAILABLE, ...
  assert(fixedDenialReasons().length >= 15, `${fixedDenialReasons().length}`);
  for (const english of producedMessages()) {
    assert(CLIENT_MESSAGES.has(english), `no translation of: ${english}`);
  }
});

Deno.test("every translated client message is a valid client-deny argument, HALT reason and kill text", () => {
  for (const [english, translations] of CLIENT_MESSAGES) {
    clientDeny(1, 1, "code", english);
    clientHalt(1, english);
    clientKill(1, `${KILL_MESSAGE},${english}`);
    for (const text of Object.values(translations)) {
      assert(text !== english, text);
      clientDeny(1, 1, "code", text);
      clientHalt(1, text);
      clientKill(1, `${KILL_MESSAGE},${text}`);
    }
  }
});

Deno.test("clientMessage() keeps English, and an unknown message, as given", () => {
  assertEquals(
    clientMessage("You are not in a group allowed to use this VPN", "en"),
    "You are not in a group allowed to use this VPN",
  );
  assertEquals(
    clientMessage('Your account does not have the required attribute "x"', "de"),
    'Your account does not have the required attribute "x"',
  );
});

Deno.test("localizedCommander() sends client-deny and HALT messages in the language of the moment", async () => {
  const recorder = new RecordingCommander();
  let language: "de" | "es" = "de";
  const commander = localizedCommander(recorder, () => language);
  await commander.deny(1, 2, "group", "You are not in a group allowed to use this VPN");
  language = "es";
  await commander.deny(1, 3, "group", "You are not in a group allowed to use this VPN");
  await commander.authNt(1, 4);
  await commander.halt(5, 1, "group", "You are not in a group allowed to use this VPN");
  assertEquals(recorder.commands, [
    {
      kind: "deny",
      cid: 1,
      kid: 2,
      reason: "group",
      clientReason: "Sie sind in keiner Gruppe, die dieses VPN nutzen darf",
    },
    {
      kind: "deny",
      cid: 1,
      kid: 3,
      reason: "group",
      clientReason: "No pertenece a ningún grupo autorizado a usar esta VPN",
    },
    { kind: "auth-nt", cid: 1, kid: 4 },
    {
      kind: "halt",
      cid: 5,
      kid: 1,
      reason: "group",
      clientReason: "No pertenece a ningún grupo autorizado a usar esta VPN",
    },
  ]);
});

Deno.test("localizedCommander() sends a kill's text in the language of the moment, a bare kill as it is", async () => {
  const recorder = new RecordingCommander();
  const commander = localizedCommander(recorder, () => "de");
  await commander.kill(4, killMessage("max-per-user"), "run-1");
  await commander.kill(5, killMessage("admin-revoke"));
  await commander.kill(6, KILL_MESSAGE);
  assertEquals(recorder.commands.map((command) => command.kind === "kill" && command.message), [
    "RESTART,Sie haben sich auf einem anderen Gerät angemeldet",
    "RESTART,Ein Administrator hat Ihre VPN-Sitzung beendet",
    "RESTART",
  ]);
  assertEquals(
    recorder.commands[0],
    {
      kind: "kill",
      cid: 4,
      message: "RESTART,Sie haben sich auf einem anderen Gerät angemeldet",
      openvpnRun: "run-1",
    },
  );
});
