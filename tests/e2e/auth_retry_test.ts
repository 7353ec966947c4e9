/**
 * Clients that start over after every AUTH_FAILED on their own: `auth-retry interact`, as
 * openvpn-gui and NetworkManager-openvpn start openvpn. A refusal no retry can change ends the
 * client with HALT, once (a `client-deny` had a client without webauth denied about once a
 * second for ever, and a refused user's client open a new browser tab after every denial); a
 * failure a retry may get past is still denied, and the retry signs in. Real OpenVPN 2.6 server
 * and client, the real bridge, Chromium at the test IdP. Needs root, openvpn and iproute2 (and
 * chromium for the sign-ins).
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { parseAuthFailed } from "./lib/client_management.ts";
import type { OpenVpnClient } from "./lib/openvpn_client.ts";
import { announceSkip, browserLabSkipReason, labSkipReason } from "./lib/requirements.ts";
import { type Stack, withStack } from "./lib/stack.ts";
import { withTimeout } from "./lib/wait.ts";

const labSkip = announceSkip("the auth-retry e2e tests", labSkipReason());
const browserSkip = labSkip ?? announceSkip("the auth-retry sign-in tests", browserLabSkipReason());

/** How openvpn-gui announces itself (openvpn-gui's openvpn.c); `auth-retry interact` as it. */
const GUI_CLIENT = { ivSso: "openurl,webauth,crtext", authRetry: "interact" } as const;

/** The `client-*` commands the OpenVPN server took from the bridge, by name, in order. */
async function clientCommands(stack: Stack): Promise<string[]> {
  const log = await stack.lab.server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '(client-[a-z-]+) /g)].map((match) => match[1]!);
}

/** What the client was told: each login URL, each AUTH_FAILED reason. */
function told(client: OpenVpnClient) {
  return {
    webAuthUrls: client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::")).length,
    authFailed: client.lines.map(parseAuthFailed).filter((reason) => reason !== undefined),
  };
}

/** A few seconds for a client that would start over: a 2.6 client retries within about one. */
const RETRY_WINDOW_MS = 5_000;

Deno.test({
  name: "a client without webauth in IV_SSO (NetworkManager-openvpn) under auth-retry interact " +
    "is halted once with the reason, not denied for ever",
  ignore: labSkip !== undefined,
  async fn() {
    await withStack({}, async (stack) => {
      const client = await stack.lab.startClient({
        name: "nm-laptop",
        ivSso: false,
        authRetry: "interact",
      });
      const reason = await client.waitForHalt(15_000);
      assertMatch(reason, /cannot do browser sign-in/);
      assertMatch(reason, /IV_SSO webauth/);
      await withTimeout("the halted client to exit", client.exited, 15_000);
      await new Promise((resolve) => setTimeout(resolve, RETRY_WINDOW_MS));
      assertEquals(told(client), { webAuthUrls: 0, authFailed: [] });
      assertEquals(await clientCommands(stack), ["client-kill"]);
    });
  },
});

Deno.test({
  name: "bob, refused by the policy, under auth-retry interact: one login URL, one HALT with " +
    "the page's reason, and the client exits",
  ignore: browserSkip !== undefined,
  async fn() {
    await withStack({}, async (stack) => {
      const client = await stack.lab.startClient({ name: "bob-laptop", ...GUI_CLIENT });
      const { page } = await stack.signIn(client, "bob", "bob-password");
      assertMatch(page.text, /Access denied/);
      const reason = await client.waitForHalt(15_000);
      assertEquals(reason, "You are not in a group allowed to use this VPN");
      assert(page.text.includes(reason), page.text);
      await withTimeout("the halted client to exit", client.exited, 15_000);
      await new Promise((resolve) => setTimeout(resolve, RETRY_WINDOW_MS));
      assertEquals(told(client), { webAuthUrls: 1, authFailed: [] });
      assertEquals(await clientCommands(stack), ["client-pending-auth", "client-kill"]);
    });
  },
});

Deno.test({
  name: "an IdP failure at the sign-in is still denied under auth-retry interact: the client " +
    "starts over on its own, and its next sign-in connects",
  ignore: browserSkip !== undefined,
  async fn() {
    await withStack({}, async (stack) => {
      const client = await stack.lab.startClient({ name: "alice-laptop", ...GUI_CLIENT });
      // The token endpoint fails once (HTTP 503): the IdP is unavailable, not the user refused.
      // (`expose`: Koa answers with the status and does not print the error.)
      stack.idp.beforeToken = () => {
        stack.idp.beforeToken = undefined;
        const unavailable = Object.assign(new Error("Service Unavailable"), {
          status: 503,
          expose: true,
        });
        return Promise.reject(unavailable);
      };
      const { page } = await stack.signIn(client, "alice", "alice-password");
      assertMatch(page.text, /Identity provider is unreachable/);
      const reason = await client.waitForAuthFailed(15_000);
      assertMatch(reason, /Identity provider is unreachable/);
      // The retry the deny is for: a new login URL, and this time the sign-in succeeds. Looked
      // for after the first URL's line, not after the lines seen now: the client starts over
      // within the same second, and its new URL may have come before AUTH_FAILED was read here.
      const retried = client.lines.findIndex((line) => line.startsWith(">INFOMSG:WEB_AUTH::")) + 1;
      const second = await stack.signIn(client, "alice", "alice-password", { since: retried });
      assertMatch(second.page.text, /You are connected/);
      await client.waitForState("CONNECTED", 20_000, retried);
      assertEquals(told(client).webAuthUrls, 2);
      assertEquals(await clientCommands(stack), [
        "client-pending-auth",
        "client-deny",
        "client-pending-auth",
        "client-auth",
      ]);
    });
  },
});
