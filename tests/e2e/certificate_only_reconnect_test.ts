/**
 * A certificate-only OpenVPN 2.6 client that the server gives up on first (a laptop asleep past
 * the keepalive timeout) comes back with the token OpenVPN issued it, without a browser: the
 * DISCONNECT of its old cid kept its session (README, the DISCONNECT rows of the decision table;
 * src/bridge/login_session.ts). The client is frozen with SIGSTOP until the bridge has handled
 * that DISCONNECT, then thawed; its own ping-restart reconnects it. Needs root, openvpn and
 * chromium.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { sendControlRequest } from "../../src/control/client.ts";
import type { SessionRow } from "../../src/control/protocol.ts";
import { parseAuthFailed, parseStateLine } from "./lib/client_management.ts";
import type { Lab } from "./lib/lab.ts";
import type { OpenVpnClient } from "./lib/openvpn_client.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { type StackOptions, withStack } from "./lib/stack.ts";
import { assertTunnelCarriesPings } from "./lib/tunnel_pings.ts";
import { pollUntil } from "./lib/wait.ts";

const skip = announceSkip("the e2e certificate-only reconnect test", browserLabSkipReason());

/**
 * `keepalive 1 5`: the server drops a silent client after 10 s (it doubles the timeout for
 * itself) and pushes `ping-restart 5`, so the thawed client restarts 5 s after the last packet
 * it reads. OpenVPN's token with external-auth, as recommended; the default reneg-sec (3600)
 * means no REAUTH before the DISCONNECT, the case a REAUTH used to rescue.
 */
const SHORT_KEEPALIVE_SERVER: StackOptions["lab"] = {
  server: {
    keepalive: [1, 5],
    authGenToken: { lifetimeSec: 0, renewalSec: 43200, externalAuth: true },
  },
};

/** Twice the server's timeout plus generous slack for a loaded machine. */
const SERVER_DROP_WAIT_MS = 45_000;

/** The management commands OpenVPN received, as its log echoes them, in order. */
async function serverCommandLines(lab: Lab): Promise<string[]> {
  const log = await lab.server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '([^']*)'/g)].map((m) => m[1]!);
}

/** The bridge's sessions, as `openvpn-auth-oidc sessions list` asks for them. */
async function listSessions(lab: Lab): Promise<SessionRow[]> {
  const answer = await sendControlRequest(`${lab.dir}/control.sock`, {
    command: "sessions.list",
  });
  if (!answer.ok || !("sessions" in answer)) {
    throw new Error(`sessions.list failed: ${JSON.stringify(answer)}`);
  }
  return answer.sessions;
}

/** The one-letter state of a process (`T`: stopped), from /proc. */
function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The name in parentheses may hold spaces; the state follows its closing parenthesis.
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

function webAuthUrls(client: OpenVpnClient, since: number): string[] {
  return client.lines.slice(since).filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
}

/**
 * What the thawed client came to: CONNECTED again, a new sign-in URL, AUTH_FAILED or exit.
 */
async function reconnectOutcome(client: OpenVpnClient, since: number): Promise<string> {
  return await client.management.connection.waitFor(
    "the thawed client to reconnect or be stopped",
    () => {
      for (const line of client.lines.slice(since)) {
        if (line.startsWith(">INFOMSG:WEB_AUTH::")) return "browser";
        if (parseAuthFailed(line) !== undefined) return "auth_failed";
        if (parseStateLine(line)?.name === "CONNECTED") return "connected";
      }
      return client.running ? undefined : "exited";
    },
    60_000,
  );
}

Deno.test({
  name: "a certificate-only 2.6 client whose DISCONNECT comes before its reconnect (asleep past " +
    "keepalive) reconnects with its token: no browser, session kept, nothing ended",
  ignore: skip !== undefined,
  async fn() {
    await withStack(
      { lab: SHORT_KEEPALIVE_SERVER, bridge: { sessionsBackend: "file", logLevel: "debug" } },
      async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        await s.signIn(client, "alice", "alice-password");
        await client.waitForState("CONNECTED", 20_000);
        await assertTunnelCarriesPings(s.lab);
        // Certificate-only: the bridge names the user so that the client presents its token.
        assert(
          (await client.pushReply())?.includes("auth-token-user YWxpY2U="),
          "auth-token-user was not pushed",
        );
        const [signedIn] = await listSessions(s.lab);
        assert(signedIn !== undefined && signedIn.cid !== null, "No bound session after sign-in");
        const oldCid = signedIn.cid;

        // `ip netns exec` execs in place: the pid is openvpn's own, so it is openvpn we freeze.
        assertEquals(Deno.readTextFileSync(`/proc/${client.pid}/comm`).trim(), "openvpn");
        const lineMark = client.lines.length;
        const bridgeMark = s.bridge.mark();
        let afterDisconnect: SessionRow | undefined;
        Deno.kill(client.pid, "SIGSTOP");
        try {
          await s.lab.server.waitForLog(
            /alice-laptop\/\S+ [^\n]*Inactivity timeout \(--ping-restart\)/,
            SERVER_DROP_WAIT_MS,
          );
          // The bridge has handled the DISCONNECT once the session is no longer bound to the
          // old cid: unbound (kept for a reconnect) or gone (ended).
          afterDisconnect = await pollUntil(
            "the bridge to handle the DISCONNECT of the frozen client",
            async () => {
              const sessions = await listSessions(s.lab);
              const row = sessions.find((each) => each.sessionId === signedIn.sessionId);
              if (row === undefined) return { gone: true as const };
              return row.cid === oldCid ? undefined : { gone: false as const, row };
            },
            15_000,
            200,
          ).then((seen) => seen.gone ? undefined : seen.row);
          // Still frozen: the DISCONNECT was handled before the client could reconnect.
          assertEquals(processState(client.pid), "T", "The client was not frozen throughout");
        } finally {
          Deno.kill(client.pid, "SIGCONT");
        }

        const outcome = await reconnectOutcome(client, lineMark);
        assertEquals(
          webAuthUrls(client, lineMark),
          [],
          "The reconnecting certificate-only client was sent to the browser again",
        );
        assert(
          afterDisconnect !== undefined,
          "The session of the certificate-only 2.6 client ended at DISCONNECT",
        );
        assertEquals(afterDisconnect.cid, null);
        assertEquals(outcome, "connected");
        const states = client.management.states().filter((st) => st.lineIndex >= lineMark);
        assert(
          states.some((st) => st.name === "RECONNECTING"),
          `The client did not restart: ${states.map((st) => st.name).join(",")}`,
        );
        await assertTunnelCarriesPings(s.lab);

        // OpenVPN's side: dropped first, then the reconnect (a new cid) let in with client-auth;
        // one sign-in in all, no denial.
        const serverLog = await s.lab.server.diagnostics();
        const commands = await serverCommandLines(s.lab);
        const reconnectAuth = commands.find((c) =>
          /^client-auth \d+ \d+/.test(c) && Number(c.split(" ")[1]) !== oldCid
        );
        assert(reconnectAuth !== undefined, commands.join("\n"));
        const newCid = Number(reconnectAuth.split(" ")[1]);
        assert(newCid > oldCid, commands.join("\n"));
        const droppedAt = serverLog.search(/Inactivity timeout \(--ping-restart\)/);
        assert(
          droppedAt >= 0 && droppedAt < serverLog.indexOf(`MANAGEMENT: CMD '${reconnectAuth}'`),
          "The server let the client back in before it dropped the old connection",
        );
        const verbs = commands.map((c) => c.split(" ")[0]);
        assertEquals(verbs.filter((v) => v === "client-pending-auth").length, 1, verbs.join(","));
        assertEquals(verbs.includes("client-deny"), false, verbs.join(","));

        // The bridge's side: the same session, now bound to the new cid; resumed from it, never
        // ended (an ended session is what revokes the refresh token at the IdP).
        const [resumed, ...others] = await listSessions(s.lab);
        assertEquals(others, []);
        assertEquals([resumed?.sessionId, resumed?.cid], [signedIn.sessionId, newCid]);
        const since = s.bridge.log.slice(bridgeMark);
        assertMatch(
          since,
          new RegExp(
            `Token reconnect of "?alice"? \\(cid ${newCid}\\) accepted from the session, no browser`,
          ),
        );
        assertEquals(
          s.bridge.matches(
            /waiting for browser sign-in|session ended|Session of .* ended|[Rr]evoke/g,
            bridgeMark,
          )
            .map((m) => m[0]),
          [],
        );
      },
    );
  },
});
