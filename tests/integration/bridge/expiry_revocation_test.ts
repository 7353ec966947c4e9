/**
 * README: a session that reaches `sessions.lifetime` is removed at the next sweep, and its
 * refresh token revoked at the IdP then. The real bridge on a FakeClock (its sweeps and session
 * lifetimes; the IdP keeps real time) with the file store, the Keycloak-like IdP and a scripted
 * management server. Before, the sweep deleted the session silently: every VPN sign-in left its
 * grant at the IdP (with Keycloak and offline_access, an offline session for 30 days).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, CLIENT_SECRET, clientEnv } from "../../support/bridge_harness.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const LIFETIME_MS = 60_000;
const SWEEP_INTERVAL_MS = 1_000;

/** A POST to one of the IdP's endpoints as the bridge's client, and its JSON answer. */
async function askIdp(
  h: BridgeHarness,
  endpoint: "introspection_endpoint" | "token_endpoint",
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const discovery = await fetch(`${h.idp.issuer}/.well-known/openid-configuration`);
  const url = (await discovery.json())[endpoint] as string;
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`openvpn:${CLIENT_SECRET}`)}` },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: await response.json() };
}

/** Whether the IdP still takes the refresh token (RFC 7662; asking does not use it up). */
async function tokenActive(h: BridgeHarness, token: string): Promise<boolean> {
  const { body } = await askIdp(h, "introspection_endpoint", {
    token,
    token_type_hint: "refresh_token",
  });
  return body.active === true;
}

Deno.test("file store: a session past sessions.lifetime has its refresh token revoked at the next sweep, though its client's DISCONNECT found it gone", async () => {
  const clock = new FakeClock(Date.now());
  const h = await BridgeHarness.start({
    sessions: "file",
    clock,
    sessionsToml: `lifetime = "${LIFETIME_MS / 1000}s"\nsweep_interval = "${
      SWEEP_INTERVAL_MS / 1000
    }s"`,
  });
  try {
    await h.signIn(0, { session_id: "s-expiring" });
    const token = (await h.readSession("s-expiring"))?.refreshToken;
    assert(token !== undefined, "the session holds a refresh token");
    assert(await tokenActive(h, token), "live at the IdP while the session lasts");
    // OpenVPN ends the client at its session-timeout, as the session expires: that DISCONNECT
    // finds no session to end (expired ones are absent to reads).
    clock.advance(LIFETIME_MS + 1);
    h.openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ session_id: "s-expiring" }));
    // The sweeps, each timed from the end of the one before, until one removed the session.
    let active = true;
    for (const deadline = Date.now() + 10_000; active && Date.now() < deadline;) {
      clock.advance(SWEEP_INTERVAL_MS);
      await new Promise((resolve) => setTimeout(resolve, 50));
      active = await tokenActive(h, token);
    }
    assertEquals(active, false, "revoked at the IdP");
    const refresh = await askIdp(h, "token_endpoint", {
      grant_type: "refresh_token",
      refresh_token: token,
    });
    assertEquals([refresh.status, refresh.body.error], [400, "invalid_grant"]);
  } finally {
    await h.stop();
  }
});
