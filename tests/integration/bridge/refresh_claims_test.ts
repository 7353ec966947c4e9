/**
 * reauth_check = "refresh" against the real test IdP: after a refresh the policy sees exactly
 * what the IdP says now. Users lose a group, a role or a required attribute between sign-in and
 * REAUTH; the IdP then leaves that claim out (as Keycloak does), with and without a new ID token
 * in the refresh response.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import type { TestUser } from "../../support/idp/mod.ts";

function member(username: string): TestUser {
  return {
    username,
    password: `${username}-password`,
    groups: ["/vpn-users"],
    realmRoles: ["vpn-user"],
    attributes: { vpn_access: true },
  };
}

const AUTHORIZATION = `allowed_groups = ["/vpn-users"]
allowed_roles = ["vpn-user"]
required_claims = { vpn_access = true }`;

async function signIn(h: BridgeHarness, cid: number, user: string) {
  const url = await h.connect(cid, { common_name: user, session_id: `s-${user}` });
  const mark = h.openvpn.received.length;
  const page = await h.browserLogin(url, user, `${user}-password`);
  assertEquals(page.status, 200);
  await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
}

async function reauth(h: BridgeHarness, cid: number, kid: number, user: string) {
  const mark = h.openvpn.received.length;
  h.openvpn.sendClientBlock(
    "REAUTH",
    cid,
    kid,
    clientEnv({ common_name: user, session_id: `s-${user}` }),
  );
  return await h.waitForCommand(
    mark,
    (line) =>
      line.startsWith(`client-auth-nt ${cid} ${kid}`) ||
      line.startsWith(`client-deny ${cid} ${kid}`),
  );
}

for (const idTokenOnRefresh of [true, false]) {
  const shape = idTokenOnRefresh ? "with a new ID token" : "without an ID token (userinfo)";
  Deno.test(`refresh ${shape}: a user who lost their group, role or attribute is denied at REAUTH`, async () => {
    const h = await BridgeHarness.start({
      reauthCheck: "refresh",
      authorization: AUTHORIZATION,
      users: [member("gina"), member("rolf"), member("cleo"), member("stay")],
      idp: { idTokenOnRefresh },
    });
    try {
      const users = ["gina", "rolf", "cleo", "stay"];
      for (const [cid, user] of users.entries()) {
        await signIn(h, cid, user);
        assertEquals(await reauth(h, cid, 2, user), `client-auth-nt ${cid} 2`);
      }
      h.idp.setGroups("gina", []);
      h.idp.setRealmRoles("rolf", []);
      h.idp.setAttribute("cleo", "vpn_access", undefined);
      const answers = [];
      for (const [cid, user] of users.entries()) answers.push(await reauth(h, cid, 3, user));
      assertEquals(answers, [
        'client-deny 0 3 "group" "You are not in a group allowed to use this VPN"',
        'client-deny 1 3 "role" "You do not have a role allowed to use this VPN"',
        'client-deny 2 3 "claim" "Your account does not have the required attribute \\"vpn_access\\""',
        "client-auth-nt 3 3",
      ]);
      // Their sessions ended: a later REAUTH finds none.
      const again = await reauth(h, 0, 4, "gina");
      assertEquals(again.startsWith('client-deny 0 4 "no session for this client"'), true, again);
    } finally {
      await h.stop();
    }
  });
}

Deno.test("a refresh refused with a bare HTTP 400 (no JSON body) ends the session", async () => {
  const h = await BridgeHarness.start({
    reauthCheck: "refresh",
    sessions: "file",
    idp: { bareRefreshErrors: true },
  });
  try {
    await signIn(h, 0, "alice");
    assertEquals(await reauth(h, 0, 2, "alice"), "client-auth-nt 0 2");
    h.idp.setDisabled("alice", true);
    assertEquals(
      await reauth(h, 0, 3, "alice"),
      'client-deny 0 3 "invalid_grant" "Identity provider session ended; please log in again"',
    );
    h.idp.setDisabled("alice", false);
    const again = await reauth(h, 0, 4, "alice");
    assertEquals(again.startsWith('client-deny 0 4 "no session for this client"'), true, again);
  } finally {
    await h.stop();
  }
});
