/**
 * A real OpenVPN 2.6 server that admits clients without asking the bridge: one whose config lacks
 * `management-client-auth` asks about no client, and one with `auth-gen-token` but without
 * `external-auth` lets a client back in on its token unasked. Either way the management link
 * shows only the client's `>CLIENT:ESTABLISHED`; the bridge disconnects it and says why (README,
 * "OpenVPN server configuration"). Needs root, openvpn, iproute2 and chromium.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { TOKEN_KILL_MESSAGE } from "../../src/bridge/unasked_admissions.ts";
import { clientKill } from "../../src/management/commands.ts";
import { parseStateLine } from "./lib/client_management.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

const skip = announceSkip("the e2e unasked admission test", browserLabSkipReason());

Deno.test({
  name: "an OpenVPN server without management-client-auth: the client it lets in unasked is " +
    "killed, and the bridge's error names the missing line",
  ignore: skip !== undefined,
  async fn() {
    // Without auth-user-pass-optional too: OpenVPN refuses that line without management-client-auth
    // (or a script or plugin) and does not start.
    const server = { managementClientAuth: false, authUserPassOptional: false };
    await withStack({ lab: { server } }, async (stack) => {
      const since = stack.bridge.mark();
      await stack.lab.startClient({ name: "mallory-laptop" });
      await stack.lab.server.waitForLog(/MANAGEMENT: CMD 'client-kill 0 "?RESTART"?'/, 30_000);
      await stack.bridge.waitForLog(
        /OpenVPN admitted cid 0 \(certificate "?mallory-laptop"?, from [^)]+\) without asking openvpn-auth-oidc: its config lacks management-client-auth/,
        10_000,
        since,
      );
    });
  },
});

Deno.test({
  name: "an OpenVPN server with auth-gen-token without external-auth: the client it lets back " +
    "in on its token is halted with a reason it logs and does not come back; the bridge's error " +
    "names external-auth",
  ignore: skip !== undefined,
  async fn() {
    const server = { authGenToken: { externalAuth: false } };
    await withStack({ lab: { server } }, async (stack) => {
      // With a username: a certificate-only client is pushed auth-token-user, and OpenVPN's own
      // check refuses its token ("Username/auth-token authentication failed for username ''"):
      // AUTH_FAILED, and it is asked about (a browser) again, never admitted unasked.
      // Chromium starts while the client does: most of this test's time is the sign-in.
      const [client] = await Promise.all([
        stack.lab.startClient({
          name: "alice-laptop",
          credentials: { username: "alice", password: "not-checked-by-the-bridge" },
        }),
        stack.browser(),
      ]);
      await stack.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);
      const since = stack.bridge.mark();
      const lineMark = client.lines.length;
      // A soft restart keeps the token: the client comes back on it, and OpenVPN asks nobody.
      client.management.connection.send("signal SIGUSR1");

      const [, cid] = await stack.lab.server.waitForLog(
        /MANAGEMENT: CMD 'client-kill (\d+) /,
        30_000,
      );
      const killLine = `MANAGEMENT: CMD '${clientKill(Number(cid), TOKEN_KILL_MESSAGE).text}'`;
      assertStringIncludes(await stack.lab.server.diagnostics(), killLine);
      const [, text] = await client.waitForLog(
        /Halt command was pushed by server \('(.*)'\)/,
        10_000,
      );
      // Halted (SIGTERM, exit 0), not restarted: it never comes back on its token.
      assertEquals(await client.exited, 0);
      // One RECONNECTING, the restart above; the HALT ends in EXITING.
      const states = client.lines.slice(lineMark).flatMap((line) =>
        parseStateLine(line)?.name ?? []
      );
      assertEquals(states[0], "RECONNECTING", states.join(","));
      assertEquals(states.at(-1), "EXITING", states.join(","));
      assertEquals(states.filter((name) => name === "RECONNECTING").length, 1, states.join(","));
      await stack.bridge.waitForLog(
        new RegExp(
          `OpenVPN admitted cid ${cid} \\(certificate "?alice-laptop"?, from [^)]+\\) on ` +
            "its own auth-gen-token without asking openvpn-auth-oidc: its config has " +
            "auth-gen-token without external-auth",
        ),
        10_000,
        since,
      );
      // The user is told why: the text after HALT's comma, shown as it was sent; a leading `[`
      // would be read as flags of OpenVPN's own (`[P]`, `[N]`: push.c).
      assertEquals(`HALT,${text}`, TOKEN_KILL_MESSAGE);
      assertMatch(text!, /^[^[]/);
    });
  },
});
