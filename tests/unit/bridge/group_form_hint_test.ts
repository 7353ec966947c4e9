/**
 * A user denied for groups whose token has an allowed group in another form (Keycloak's "Full
 * group path" setting, a nested group written by its name) gets a hint in the denial's log line
 * saying so. The decision and the client's reason stay as they were: no fuzzy matching.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { judge, type PolicyConfig } from "../../../src/bridge/identity_policy.ts";
import { logDenial } from "../../../src/bridge/denial_log.ts";
import { WarningInterval } from "../../../src/warning_interval.ts";
import type { ClientSide } from "../../../src/bridge/admission_types.ts";
import { configureLogging, getLogger } from "../../../src/log.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

const NOT_IN_GROUP = "You are not in a group allowed to use this VPN";

function allowing(...allowedGroups: string[]): PolicyConfig {
  return { ...TEST_POLICY, authorization: { ...TEST_POLICY.authorization, allowedGroups } };
}

function claimsWith(groups: string[]) {
  return { sub: "u-1", preferred_username: "alice", groups };
}

/** The denial judge() gives a user in `groups` under `policy`; fails when it allows. */
function denialOf(policy: PolicyConfig, groups: string[]) {
  const verdict = judge(claimsWith(groups), "alice-laptop", policy);
  assert(!verdict.allow, JSON.stringify(verdict));
  assertEquals(verdict.denial.code, "group");
  assertEquals(verdict.denial.reason, NOT_IN_GROUP);
  assertEquals(verdict.denial.logReason, "group");
  return verdict.denial;
}

Deno.test('judge(): allowed_groups "/vpn-users" and a token with "vpn-users" is denied, the log hint naming the full group path setting', () => {
  assertEquals(
    denialOf(allowing("/vpn-users"), ["vpn-users"]).hint,
    'groups claim has "vpn-users"; allowed_groups has "/vpn-users", which matches only that ' +
      'full path (Keycloak\'s "Full group path" off in the group mapper?)',
  );
});

Deno.test('judge(): allowed_groups "vpn-users" and a token with "/vpn-users" is allowed (the documented rule), so needs no hint', () => {
  const verdict = judge(claimsWith(["/vpn-users"]), "alice-laptop", allowing("vpn-users"));
  assert(verdict.allow, JSON.stringify(verdict));
});

Deno.test('judge(): allowed_groups "vpn-admins" and a token with "/staff/vpn-admins" is denied, the hint asking for the full path', () => {
  assertEquals(
    denialOf(allowing("vpn-admins"), ["/staff/vpn-admins"]).hint,
    'groups claim has ".../vpn-admins"; allowed_groups has "vpn-admins", which never matches ' +
      "a group nested in another: write the group's full path",
  );
});

Deno.test('judge(): allowed_groups "/staff/vpn-admins" and a token with only "vpn-admins" is denied, the hint naming the full group path setting', () => {
  assertEquals(
    denialOf(allowing("/staff/vpn-admins"), ["vpn-admins"]).hint,
    'groups claim has "vpn-admins"; allowed_groups has "/staff/vpn-admins", a path, which ' +
      'never matches a bare name (Keycloak\'s "Full group path" off in the group mapper?)',
  );
});

Deno.test("judge(): a user in other groups only gets no form hint, and the hint names no group the config does not", () => {
  assertEquals(denialOf(allowing("/vpn-users"), ["/other", "vpn-users-old"]).hint, undefined);
  assertEquals(denialOf(allowing("/a/vpn-admins"), ["/b/vpn-admins"]).hint, undefined);
  const hint = denialOf(allowing("x", "vpn-admins"), ["/secret-team/vpn-admins"]).hint;
  assert(hint !== undefined);
  assertEquals(hint.includes("secret-team"), false, hint);
});

Deno.test("the denial's log line carries the form hint; the client's reason does not", () => {
  const denial = denialOf(allowing("/vpn-users"), ["vpn-users"]);
  assertEquals(denial.reason.includes("Full group path"), false);
  const client: ClientSide = {
    kind: "login",
    server: "default",
    cid: 1,
    kid: 1,
    commonName: "alice-laptop",
    clientIp: "10.200.0.2",
    username: undefined,
  };
  const stderr = captureStderr();
  try {
    configureLogging("info", "text");
    logDenial(
      getLogger("clients"),
      client,
      denial,
      { who: { username: "alice", subject: "u-1" } },
      new WarningInterval(60_000, Date.now),
    );
  } finally {
    stderr.restore();
    configureLogging("warning", "text");
  }
  const lines = stderr.lines();
  assertEquals(lines.length, 1, lines.join("\n"));
  // The hint is the sentence's; the group names in it are quoted as data.
  assertStringIncludes(
    lines[0]!,
    'denied: group; groups claim has "vpn-users"; allowed_groups has "/vpn-users", which',
  );
  assertStringIncludes(lines[0]!, "Full group path");
});
