/**
 * README "Metrics": `openvpn_auth_oidc_tunnels{server}` counts the clients whose tunnel is up,
 * ESTABLISHED in and DISCONNECT out (a bypassed client and one OpenVPN let in without asking
 * count until they leave; a client denied at its CONNECT never does), set again from OpenVPN's
 * client list at each link-up and each new run of OpenVPN. The real bridge against the scripted
 * management server, scraped over HTTP.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { freePort } from "../../support/free_port.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { STARTED_AT } from "../../support/openvpn_side.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

const TUNNELS = 'openvpn_auth_oidc_tunnels{server="default"}';

/** The gauge's value, or undefined when the scrape has no such sample. */
async function tunnels(port: number): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${TUNNELS} `));
  return line?.slice(TUNNELS.length + 1);
}

/**
 * Waits until the gauge reads `expected`; fails naming the last value read. The events of a
 * link are counted in the order they came, so a value reached after a later event also shows
 * that an earlier one (a DISCONNECT that must not count) was taken.
 */
async function tunnelsReach(port: number, expected: string): Promise<void> {
  let last: string | undefined;
  await pollUntil(
    `tunnels to read ${expected}`,
    async () => {
      last = await tunnels(port);
      return last === expected ? true : undefined;
    },
    5000,
    20,
  ).catch(() => assertEquals(last, expected, TUNNELS));
}

Deno.test("tunnels{server}: ESTABLISHED in, DISCONNECT out; set from OpenVPN's client list at a link-up and at a new run", async () => {
  const port = await freePort();
  const h = await BridgeHarness.start({
    servers: [{ name: "default", toml: 'bypass_common_names = ["^gw-1$"]' }],
    extraToml: `[metrics]\nlisten = "127.0.0.1:${port}"\n`,
  });
  // The unasked admission's error.
  const log = captureStderr();
  const openvpn = h.openvpn;
  try {
    // OpenVPN listed no client when the link came up.
    await tunnelsReach(port, "0");

    await h.signIn(0, { common_name: "alice", session_id: "s-alice" });
    openvpn.sendClientBlock("ESTABLISHED", 0, undefined, clientEnv({ session_id: "s-alice" }));
    await tunnelsReach(port, "1");

    // Bypassed: on the network with no session.
    let mark = openvpn.received.length;
    const gateway = clientEnv({ common_name: "gw-1", session_id: "s-gw" });
    openvpn.sendClientBlock("CONNECT", 1, 1, gateway);
    await h.waitForCommand(mark, (line) => line === "client-auth-nt 1 1");
    openvpn.sendClientBlock("ESTABLISHED", 1, undefined, gateway);
    await tunnelsReach(port, "2");

    // Refused at its CONNECT (halted: refusal.ts): its DISCONNECT takes nothing off.
    mark = openvpn.received.length;
    openvpn.sendClientBlock("CONNECT", 2, 1, clientEnv({ IV_SSO: "openurl" }));
    await h.waitForCommand(mark, (line) => line.startsWith("client-kill 2 "));
    openvpn.sendClientBlock("DISCONNECT", 2, undefined, clientEnv({}));

    // Let in without asking: on the network until the kill takes it off.
    mark = openvpn.received.length;
    openvpn.sendClientBlock("ESTABLISHED", 7, undefined, clientEnv({ common_name: "mallory" }));
    await h.waitForCommand(mark, (line) => line === 'client-kill 7 "RESTART"');
    await tunnelsReach(port, "3");
    openvpn.sendClientBlock("DISCONNECT", 7, undefined, clientEnv({ common_name: "mallory" }));
    openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ session_id: "s-alice" }));
    await tunnelsReach(port, "1");

    // While the link was down gw-1 stayed, carol's tunnel came up, dave is in his handshake.
    openvpn.clients.clear();
    openvpn.clients.set(1, "gw-1").set(10, "carol").set(11, "dave");
    openvpn.unaddressed.add(11);
    mark = openvpn.received.length;
    await openvpn.closeClient();
    await h.waitForCommand(mark, (line) => line === "status 3");
    await tunnelsReach(port, "2");
    openvpn.sendClientBlock("ESTABLISHED", 11, undefined, clientEnv({ common_name: "dave" }));
    await tunnelsReach(port, "3");

    // OpenVPN restarted in place (SIGHUP): the link stays up, and cids start at 0 again. 2.6
    // sends a DISCONNECT for each client first (restart_in_place.ts); here none came, and the
    // new run's list replaces the old run's count all the same.
    openvpn.clients.clear();
    openvpn.unaddressed.clear();
    openvpn.clients.set(0, "erin");
    mark = openvpn.received.length;
    openvpn.sendLines([`>STATE:${STARTED_AT + 60},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`]);
    await h.waitForCommand(mark, (line) => line === "status 3");
    await tunnelsReach(port, "1");

    // OpenVPN exits: every client goes with it.
    openvpn.sendLines([`>STATE:${STARTED_AT + 120},EXITING,SIGTERM,,,,,`]);
    await tunnelsReach(port, "0");
  } finally {
    log.restore();
    await h.stop();
  }
});
