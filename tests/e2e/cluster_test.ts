/**
 * Two bridge instances, one real OpenVPN 2.6 server, a real redis-server (Debian's, on a free
 * loopback port, started and stopped by pid) and Chromium. Instance A holds the server's
 * management link; alice's browser lands on instance B, which hands the client-auth to A
 * through Redis, and she is connected. Then A is killed (`kill -9`) right after answering one of
 * alice's renegotiations: B takes the lease within the lease plus 2 s, alice's tunnel stays up,
 * her next REAUTH is answered by B without a browser, and bob, whose sign-in A had started and
 * who finishes it in the browser during the takeover, is connected. Needs root, openvpn,
 * chromium and redis-server.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RedisServer } from "../support/redis_server.ts";
import { freePort } from "../support/free_port.ts";
import { BridgeProcess } from "./lib/bridge_process.ts";
import type { Lab } from "./lib/lab.ts";
import type { OpenVpnClient } from "./lib/openvpn_client.ts";
import { announceSkip, browserLabSkipReason, findExecutable } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";
import { assertTunnelCarriesPings } from "./lib/tunnel_pings.ts";
import { pollUntil } from "./lib/wait.ts";

const skip = announceSkip(
  "the e2e cluster test",
  browserLabSkipReason() ??
    (findExecutable("redis-server") ? undefined : "missing redis-server (apt-get install redis)"),
);

const LEASE_MS = 10_000;
/**
 * Long enough for bob's sign-in, which waits for the takeover, to finish before his first key
 * is due for renegotiation (a server renegotiating a key that is still waiting for its
 * client-auth leaves that client out of sync).
 */
const RENEG_SEC = 30;
/** How long a bridge's log line may trail the command OpenVPN logged (it comes through a pipe). */
const LOG_LAG_MS = 5_000;

interface ServerCommand {
  verb: string;
  cid: number;
  kid: number;
}

/** The client-* commands OpenVPN received, as its log echoes them. */
async function serverCommands(lab: Lab): Promise<ServerCommand[]> {
  const log = await lab.server.diagnostics();
  return [...log.matchAll(/MANAGEMENT: CMD '(client-[a-z-]+) (\d+) (\d+)/g)].map((m) => ({
    verb: m[1]!,
    cid: Number(m[2]),
    kid: Number(m[3]),
  }));
}

async function reauthAnswersFor(lab: Lab, cid: number): Promise<number> {
  return (await serverCommands(lab)).filter((c) =>
    c.verb === "client-auth-nt" && c.cid === cid && c.kid !== 1
  ).length;
}

async function waitForReauthAnswer(lab: Lab, cid: number, after: number): Promise<void> {
  await pollUntil(
    `a REAUTH of cid ${cid} answered`,
    async () => (await reauthAnswersFor(lab, cid)) > after ? true : undefined,
    (RENEG_SEC + 25) * 1000,
    200,
  );
}

function onInstance(url: string, baseUrl: string): string {
  const parsed = new URL(url);
  return new URL(parsed.pathname, baseUrl).href;
}

async function holdsLease(bridge: BridgeProcess): Promise<boolean> {
  const state = await bridge.readiness().catch(() => undefined);
  return state?.cluster?.leases.includes("default") === true && state.servers["default"] === true;
}

/** No second login URL, no reconnect, no failure: the tunnel simply stayed up. */
function assertNoBrowserNeeded(client: OpenVpnClient): void {
  assertEquals(client.lines.filter((l) => l.startsWith(">INFOMSG:WEB_AUTH::")).length, 1);
  const states = client.management.states().map((state) => state.name);
  assertEquals(states.includes("RECONNECTING"), false, `States: ${states.join(",")}`);
  assertEquals(states.filter((state) => state === "CONNECTED").length, 1, states.join(","));
  assertEquals(client.running, true);
}

Deno.test({
  name: "two bridge instances: a login landing on the standby is carried out by the holder; " +
    "after kill -9 of the holder the standby takes over, alice stays up and is renegotiated " +
    "by it, and bob's sign-in in progress completes",
  ignore: skip !== undefined,
  async fn() {
    const redis = await RedisServer.start();
    const portB = await freePort();
    const baseUrlB = `http://127.0.0.1:${portB}`;
    let bridgeB: BridgeProcess | undefined;
    try {
      await withStack({
        lab: {
          server: {
            renegSec: RENEG_SEC,
            authGenToken: { lifetimeSec: 0, renewalSec: 120, externalAuth: true },
          },
        },
        extraRedirectUris: [`${baseUrlB}/oauth2/callback`],
        bridge: {
          sessionsBackend: "redis",
          allowedGroups: ["/vpn-users", "/other"],
          sessionsToml: `url = "${redis.url}"`,
          logLevel: "debug",
          extraToml: `[cluster]\nenabled = true\nlease = "${LEASE_MS / 1000}s"\n` +
            'instance_id = "bridge-a"',
        },
      }, async (s) => {
        const a = s.bridge;
        await pollUntil(
          "A to hold the lease",
          async () => (await holdsLease(a)) || undefined,
          15_000,
        );
        // Instance B: the same config on its own port, name and control socket.
        const configB = join(s.lab.dir, "bridge-b.toml");
        writeFileSync(
          configB,
          (await Deno.readTextFile(s.configPath))
            .replaceAll(`127.0.0.1:${s.listenPort}`, `127.0.0.1:${portB}`)
            .replace('instance_id = "bridge-a"', 'instance_id = "bridge-b"')
            .replace(/control\.sock/, "control-b.sock"),
          { mode: 0o600 },
        );
        bridgeB = await BridgeProcess.start({
          runtime: "source",
          configPath: configB,
          listenUrl: baseUrlB,
        });
        const b = bridgeB;
        assertEquals((await b.readiness()).cluster, { instance: "bridge-b", leases: [] });

        // Alice's client talks to OpenVPN, whose link A holds; her browser lands on B.
        const alice = await s.lab.startClient({ name: "alice-laptop" });
        const aliceUrl = await alice.management.waitForWebAuthUrl(20_000, 0);
        assert(aliceUrl.startsWith(s.listenUrl), aliceUrl);
        const browser = await s.browser();
        await browser.context.clearCookies();
        const alicePage = await browser.login(
          onInstance(aliceUrl, baseUrlB),
          "alice",
          "alice-password",
        );
        assertMatch(alicePage.text, /You are connected/);
        await alice.waitForState("CONNECTED", 20_000);
        await assertTunnelCarriesPings(s.lab);
        const aliceCid = (await serverCommands(s.lab)).find((c) => c.verb === "client-auth")!.cid;
        // The log reaches us through a pipe, which may lag behind what OpenVPN was told.
        await b.waitForLog(/Login of "?alice"? \(cid \d+/, LOG_LAG_MS);

        // Right after A answered one of alice's renegotiations, bob's client connects and A
        // answers with his sign-in link; then A dies.
        const before = await reauthAnswersFor(s.lab, aliceCid);
        await waitForReauthAnswer(s.lab, aliceCid, before);
        const bob = await s.lab.startClient({ name: "bob-laptop" });
        const bobUrl = await bob.management.waitForWebAuthUrl(20_000, 0);
        assert(bobUrl.startsWith(s.listenUrl), bobUrl);
        const killedAt = performance.now();
        Deno.kill(a.pid, "SIGKILL");
        const tookOver = pollUntil(
          "B to take the lease",
          async () => (await holdsLease(b)) ? performance.now() - killedAt : undefined,
          LEASE_MS + 10_000,
          50,
        );
        // Bob finishes signing in on B meanwhile: B waits for a holder, then for OpenVPN.
        await browser.context.clearCookies();
        const bobPage = await browser.login(onInstance(bobUrl, baseUrlB), "bob", "bob-password");
        const takeoverMs = await tookOver;
        // Printed, not asserted (timing belongs in bench/): the poll above bounds the wait.
        console.log(`B took the lease ${Math.round(takeoverMs)} ms after kill -9 of A`);
        assertMatch(bobPage.text, /You are connected/);
        await bob.waitForState("CONNECTED", 20_000);
        await bob.stop();

        // Alice's tunnel stayed up, and B answers her next renegotiation without a browser.
        const afterKill = await reauthAnswersFor(s.lab, aliceCid);
        const bMark = b.mark();
        await waitForReauthAnswer(s.lab, aliceCid, afterKill);
        await b.waitForLog(/REAUTH of "?alice"?/, LOG_LAG_MS, bMark);
        await assertTunnelCarriesPings(s.lab);
        assertNoBrowserNeeded(alice);
        assertEquals(
          (await serverCommands(s.lab)).some((c) => c.verb === "client-deny"),
          false,
          "nobody was denied",
        );
      });
    } finally {
      await bridgeB?.kill();
      await redis.dispose();
    }
  },
});
