/**
 * Renegotiation through the real bridge: with `reneg-sec 20` every client re-authenticates every
 * 20 s, and the bridge must answer each REAUTH of a known session with `client-auth-nt` at once,
 * without a browser, across a bridge restart too; with `reauth_check = "refresh"` a user
 * disabled at the IdP loses the tunnel at the next REAUTH. Needs root, openvpn and chromium.
 */

import assert from "node:assert/strict";
import type { BridgeProcess } from "./lib/bridge_process.ts";
import { parseAuthFailed, parseStateLine } from "./lib/client_management.ts";
import type { Lab } from "./lib/lab.ts";
import type { OpenVpnClient } from "./lib/openvpn_client.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { type StackOptions, withStack } from "./lib/stack.ts";
import { pollUntil } from "./lib/wait.ts";

const skip = announceSkip("the e2e renegotiation tests", browserLabSkipReason());

const RENEG_SEC = 20;
/** One renegotiation interval plus generous slack for a loaded machine. */
const REAUTH_WAIT_MS = (RENEG_SEC + 25) * 1000;

/** `auth-gen-token 0 120 external-auth`: reneg-sec 20 needs an explicit renewal time. */
const RENEGOTIATING_SERVER: StackOptions["lab"] = {
  server: {
    renegSec: RENEG_SEC,
    authGenToken: { lifetimeSec: 0, renewalSec: 120, externalAuth: true },
  },
};

/** The bridge's info line for a REAUTH it answered from the session (with client-auth-nt). */
function reauthAccepted(username: string): RegExp {
  return new RegExp(
    `["']?reauth["']? of ["']?${username}["']? \\(cid (\\d+)\\) accepted from the session, no browser needed`,
  );
}

/** Waits for the next REAUTH the bridge accepted after `since`; returns the rest of the log. */
async function nextAcceptedReauth(
  bridge: BridgeProcess,
  username: string,
  since: number,
): Promise<number> {
  const match = await bridge.waitForLog(reauthAccepted(username), REAUTH_WAIT_MS, since);
  return since + match.index + match[0].length;
}

/** `client-auth-nt` commands the OpenVPN server received (its log echoes management commands). */
async function clientAuthNtCommands(lab: Lab): Promise<string[]> {
  const log = await lab.server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '(client-auth-nt \d+ \d+)'/g)].map((m) => m[1]!);
}

/**
 * Waits until a round of 3 pings is answered in full: a renegotiation may cost a ping or two
 * while the new key settles, which says nothing about whether the tunnel stayed up.
 */
async function assertTunnelCarriesPings(lab: Lab): Promise<void> {
  let last = "";
  await pollUntil(
    "3 of 3 pings through the tunnel",
    async () => {
      const ping = await lab.pingServer(3);
      last = ping.output;
      return ping.allReplied ? true : undefined;
    },
    15_000,
    200,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\n${last}`);
  });
}

function webAuthUrls(client: OpenVpnClient): string[] {
  return client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
}

/** No second login URL, no reconnect, no failure: the tunnel simply stayed up. */
function assertNoBrowserNeeded(client: OpenVpnClient): void {
  assert.equal(webAuthUrls(client).length, 1, "The client was asked to sign in again");
  const states = client.management.states().map((state) => state.name);
  assert.equal(states.includes("RECONNECTING"), false, `States: ${states.join(",")}`);
  assert.equal(states.filter((state) => state === "CONNECTED").length, 1, states.join(","));
  assert.equal(client.lines.some((line) => parseAuthFailed(line) !== undefined), false);
  assert.equal(client.running, true);
}

Deno.test({
  name: "a certificate-only client stays up across renegotiations without a browser, also when " +
    "the bridge restarts in between (file store)",
  ignore: skip !== undefined,
  async fn() {
    await withStack(
      { lab: RENEGOTIATING_SERVER, bridge: { sessionsBackend: "file" } },
      async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        await s.signIn(client, "alice", "alice-password");
        await client.waitForState("CONNECTED", 20_000);
        await assertTunnelCarriesPings(s.lab);

        await nextAcceptedReauth(s.bridge, "alice", 0);
        await assertTunnelCarriesPings(s.lab);

        // A clean restart: SIGTERM, exit 0, a new process reading the same session file.
        const bridge = await s.replaceBridge();
        const restartMark = bridge.mark();
        await nextAcceptedReauth(bridge, "alice", restartMark);
        await assertTunnelCarriesPings(s.lab);

        assertNoBrowserNeeded(client);
        assert.ok((await clientAuthNtCommands(s.lab)).length >= 2, "No client-auth-nt seen");
        // A certificate-only 2.6 client presents no token; the bridge recognised it by cid.
        assert.equal(bridge.matches(/waiting for browser sign-in/g, restartMark).length, 0);
      },
    );
  },
});

Deno.test({
  name: "a username/password client stays up across two renegotiations without a browser",
  ignore: skip !== undefined,
  async fn() {
    await withStack({ lab: RENEGOTIATING_SERVER }, async (s) => {
      // The password is OpenVPN's business (it is replaced by the auth token); the IdP login
      // is what the bridge checks.
      const client = await s.lab.startClient({
        name: "alice-desktop",
        credentials: { username: "alice", password: "not-checked-by-the-bridge" },
      });
      await s.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);
      await assertTunnelCarriesPings(s.lab);
      // The client named its user, so the bridge must not push auth-token-user.
      assert.equal((await client.pushReply())?.some((o) => o.startsWith("auth-token-user")), false);

      let mark = await nextAcceptedReauth(s.bridge, "alice", 0);
      await assertTunnelCarriesPings(s.lab);
      mark = await nextAcceptedReauth(s.bridge, "alice", mark);
      await assertTunnelCarriesPings(s.lab);

      assertNoBrowserNeeded(client);
      assert.ok((await clientAuthNtCommands(s.lab)).length >= 2, "No client-auth-nt seen");
      // With a token, OpenVPN checked its HMAC: the client never fell back to a new login.
      assert.doesNotMatch(await s.lab.server.diagnostics(), /HMAC on token from client failed/);
    });
  },
});

Deno.test({
  name: 'reauth_check = "refresh": a user disabled at the IdP loses the tunnel at the next REAUTH',
  ignore: skip !== undefined,
  async fn() {
    await withStack({
      lab: RENEGOTIATING_SERVER,
      bridge: { reauthCheck: "refresh" },
    }, async (s) => {
      const client = await s.lab.startClient({ name: "alice-laptop" });
      await s.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);
      await assertTunnelCarriesPings(s.lab);

      s.idp.setDisabled("alice", true);
      const lineMark = client.lines.length;
      const bridgeMark = s.bridge.mark();
      await s.bridge.waitForLog(
        /["']?reauth["']? of ["']?alice["']? \(cid \d+\) denied by the refresh check/,
        REAUTH_WAIT_MS,
        bridgeMark,
      );

      // The client is dropped: AUTH_FAILED (it then exits, auth-retry none) or a restart that
      // ends in a new sign-in request; either way its old session no longer carries traffic.
      const outcome = await client.management.connection.waitFor(
        "the client to lose its tunnel",
        () => {
          if (!client.running) return "exited";
          for (const line of client.lines.slice(lineMark)) {
            if (parseAuthFailed(line) !== undefined) return "auth_failed";
            const state = parseStateLine(line)?.name;
            if (state === "RECONNECTING" || state === "EXITING") return state.toLowerCase();
          }
          return undefined;
        },
        20_000,
      );
      assert.ok(outcome.length > 0);
      await pollUntil(
        "the tunnel to stop carrying pings",
        async () => {
          return (await s.lab.pingServer(1)).received === 0 ? true : undefined;
        },
        15_000,
        200,
      );
      // It never comes back on the old session: no CONNECTED after the denial.
      const reconnected = client.lines.slice(lineMark).some((line) =>
        parseStateLine(line)?.name === "CONNECTED"
      );
      assert.equal(reconnected, false, "The client reconnected on the disabled user's session");
      assert.equal(s.bridge.matches(/accepted from the session/g, bridgeMark).length, 0);
    });
  },
});
