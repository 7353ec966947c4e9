/**
 * The tunnels' audit lines with real OpenVPN 2.6 (README, "Audit log"): `established` when a
 * client's tunnel is up and `client_left` when it leaves, with how long and how much, for a client
 * on `bypass_common_names` (no user) and for one with a session, also across a restart of the
 * bridge, after which the bridge learns of a tunnel that stayed up only from the events that
 * follow. The bridge writes JSON lines, read as a log pipeline would. Needs root and openvpn, and
 * chromium for the sign-in.
 */

import { assert, assertEquals } from "../support/assert.ts";
import type { AuditRecord } from "../support/audit_records.ts";
import type { BridgeProcess, LogMark } from "./lib/bridge_process.ts";
import { announceSkip, browserLabSkipReason, labSkipReason } from "./lib/requirements.ts";
import { isReauthAnswer, serverCommands } from "./lib/server_commands.ts";
import { withStack } from "./lib/stack.ts";
import { pollUntil } from "./lib/wait.ts";

const labSkip = announceSkip("the e2e bypassed-client audit test", labSkipReason());
const browserSkip = announceSkip("the e2e token-reconnect audit test", browserLabSkipReason());

/** Time for an event to reach the bridge and its line the log, on a loaded machine. */
const AUDIT_WAIT_MS = 15_000;

/** The certificate names of site gateways, which connect without signing in. */
const BYPASS_TOML = 'bypass_common_names = ["site-gw-[0-9]+"]';

/** Waits for `event`'s line of the tunnel on `cid` (any cid when undefined) after `since`. */
function waitForTunnelLine(
  bridge: BridgeProcess,
  event: "established" | "client_left",
  commonName: string,
  since: LogMark,
  cid?: unknown,
): Promise<AuditRecord> {
  return bridge.waitForAudit(
    `${event} of ${commonName}${cid === undefined ? "" : ` on cid ${cid}`}`,
    (line) =>
      line.event === event && line.commonName === commonName &&
      (cid === undefined || line.cid === cid),
    AUDIT_WAIT_MS,
    since,
  );
}

/** A `client_left` line tells how long the client was connected and how much it sent. */
function assertLeftDetails(line: AuditRecord): void {
  for (const key of ["durationSec", "bytesReceived", "bytesSent"]) {
    assertEquals(typeof line[key], "number", `${key} of ${JSON.stringify(line)}`);
  }
}

/** Who, where and why of each audit line of the tunnel on `cid` after `since`. */
function tunnelLines(bridge: BridgeProcess, cid: unknown, since: LogMark = 0) {
  return bridge.auditLines(since).filter((line) => line.cid === cid)
    .map(({ event, username, commonName, reason }) => ({ event, username, commonName, reason }));
}

Deno.test({
  name: "a client on bypass_common_names has established and client_left lines with no user, " +
    "none for its REAUTHs, and client_left also when it connected before the bridge started",
  ignore: labSkip !== undefined,
  async fn() {
    await withStack(
      { bridge: { logFormat: "json", serverToml: { server: BYPASS_TOML } } },
      async (s) => {
        // A gateway that renegotiates every 5 s: its REAUTHs come while the test waits.
        const gateway = await s.lab.startClient({ name: "site-gw-1", renegSec: 5 });
        await gateway.waitForState("CONNECTED", 20_000);
        const established = await waitForTunnelLine(s.bridge, "established", "site-gw-1", 0);
        assertEquals(established.username, "");
        assert(typeof established.virtualIp === "string", JSON.stringify(established));
        const cid = established.cid;
        await pollUntil(
          `a REAUTH of cid ${cid} answered`,
          async () =>
            (await serverCommands(s.lab.server)).find((c) => c.cid === cid && isReauthAnswer(c)),
          20_000,
          200,
        );
        await gateway.stop();
        assertLeftDetails(await waitForTunnelLine(s.bridge, "client_left", "site-gw-1", 0, cid));
        // Its lines in order, the REAUTH's none (it came before the DISCONNECT).
        const line = (event: string, reason: string | null = null) => ({
          event,
          username: "",
          commonName: "site-gw-1",
          reason,
        });
        assertEquals(tunnelLines(s.bridge, cid), [
          line("admitted", "bypass"),
          line("established"),
          line("client_left"),
        ]);

        // A gateway whose tunnel is up when the bridge starts sends no ESTABLISHED again: the
        // bridge learns of it from its DISCONNECT alone.
        const other = await s.lab.startClient({ name: "site-gw-2" });
        await other.waitForState("CONNECTED", 20_000);
        const { cid: otherCid } = await waitForTunnelLine(s.bridge, "established", "site-gw-2", 0);
        const bridge = await s.replaceBridge();
        const restartMark = bridge.mark();
        await other.stop();
        const left = await waitForTunnelLine(bridge, "client_left", "site-gw-2", restartMark);
        assertEquals(left.cid, otherCid);
        assertLeftDetails(left);
        assertEquals(tunnelLines(bridge, otherCid, restartMark), [
          { event: "client_left", username: "", commonName: "site-gw-2", reason: null },
        ]);
      },
    );
  },
});

Deno.test({
  name: "after a bridge restart, a client that reconnects with its token has established naming " +
    "its user on the new cid, and client_left naming its user for the old one",
  ignore: browserSkip !== undefined,
  async fn() {
    const server = {
      authGenToken: { lifetimeSec: 0, renewalSec: 43200, externalAuth: true },
    };
    await withStack(
      { lab: { server }, bridge: { sessionsBackend: "file", logFormat: "json" } },
      async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        await s.signIn(client, "alice", "alice-password");
        await client.waitForState("CONNECTED", 20_000);
        const first = await waitForTunnelLine(s.bridge, "established", "alice-laptop", 0);
        assertEquals(first.username, "alice");
        const oldCid = first.cid;

        // The new process admitted nobody: it knows the tunnel on oldCid only from the store.
        const bridge = await s.replaceBridge();
        const restartMark = bridge.mark();
        const lineMark = client.lines.length;
        // A soft restart keeps the token: the client comes back on a new cid, no browser.
        client.management.connection.send("signal SIGUSR1");
        await client.waitForState("RECONNECTING", 20_000, lineMark);
        await client.waitForState("CONNECTED", 20_000, lineMark);

        const established = await waitForTunnelLine(
          bridge,
          "established",
          "alice-laptop",
          restartMark,
        );
        assert(established.cid !== oldCid, JSON.stringify(established));
        assertEquals(established.username, "alice");
        const left = await waitForTunnelLine(
          bridge,
          "client_left",
          "alice-laptop",
          restartMark,
          oldCid,
        );
        assertEquals([left.username, left.sessionId], ["alice", first.sessionId]);
        assertLeftDetails(left);
        const loginUrls = client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
        assertEquals(loginUrls.length, 1, "The client was asked to sign in again");
      },
    );
  },
});
