/**
 * An OpenVPN server without `management-client-auth` asks the bridge nothing: each client with
 * a valid certificate shows up on the management link as a `>CLIENT:ESTABLISHED` with no CONNECT
 * before it (measured with 2.6.14). The real bridge, against the scripted management server,
 * disconnects such a client, says why in an error (at most one a minute) and counts it; a client
 * it admitted, one admitted before it restarted and a bypassed common name are left alone.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness, clientEnv, type HarnessOptions } from "../../support/bridge_harness.ts";
import { freePort } from "../../support/free_port.ts";
import { captureStderr, type StderrCapture } from "../../support/stderr_capture.ts";
import { TOKEN_KILL_MESSAGE } from "../../../src/bridge/unasked_admissions.ts";

const UNASKED_METRIC = 'openvpn_auth_oidc_unasked_admissions_total{server="default"}';

/** A bridge with metrics on, its stderr (errors only: the harness logs at `error`) captured. */
async function bridge(options: HarnessOptions = {}) {
  const port = await freePort();
  const h = await BridgeHarness.start({
    ...options,
    extraToml: `[metrics]\nlisten = "127.0.0.1:${port}"\n`,
  });
  const log = captureStderr();
  return { h, port, log };
}

async function metric(port: number, series: string): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line?.slice(series.length + 1);
}

/** An ESTABLISHED as OpenVPN sends it, with the client's ENV. */
function established(h: BridgeHarness, cid: number, env: Record<string, string> = {}): void {
  h.openvpn.sendClientBlock("ESTABLISHED", cid, undefined, clientEnv(env));
}

/**
 * The cids the bridge killed since `mark`, once the kill of `sentinel` (an ESTABLISHED nothing
 * admitted, sent last) has come: the events before it were handled by then.
 */
async function killsUntil(h: BridgeHarness, mark: number, sentinel: number): Promise<number[]> {
  established(h, sentinel, { common_name: "sentinel", session_id: "" });
  await h.waitForCommand(mark, (line) => line === `client-kill ${sentinel} "RESTART"`);
  return h.commandsSince(mark).flatMap((line) => {
    const match = /^client-kill (\d+) /.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

function unaskedErrors(log: StderrCapture): string[] {
  return log.lines().filter((line) => line.includes("management-client-auth"));
}

/** What was logged apart from the audit lines (written at any level). */
function logged(log: StderrCapture): string[] {
  return log.lines().filter((line) => !line.includes("openvpn-auth-oidc·audit:"));
}

async function signIn(h: BridgeHarness, cid: number, sessionId: string): Promise<void> {
  const url = await h.connect(cid, { common_name: "alice", session_id: sessionId });
  const mark = h.openvpn.received.length;
  assertEquals((await h.browserLogin(url, "alice", "alice-password")).status, 200);
  await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
}

Deno.test("an ESTABLISHED with no CONNECT before it: one error naming management-client-auth, the client killed, counted", async () => {
  const { h, port, log } = await bridge();
  try {
    const mark = h.openvpn.received.length;
    established(h, 7, { common_name: "mallory", untrusted_ip: "198.51.100.9" });
    await h.waitForCommand(mark, (line) => line === 'client-kill 7 "RESTART"');
    const errors = unaskedErrors(log);
    assertEquals(errors.length, 1, errors.join("\n"));
    assertStringIncludes(errors[0]!, "OpenVPN admitted cid 7");
    assertStringIncludes(errors[0]!, "mallory");
    assertStringIncludes(errors[0]!, "198.51.100.9");
    assertStringIncludes(errors[0]!, "without asking openvpn-auth-oidc");
    assertStringIncludes(errors[0]!, "[ERR]");
    assertEquals(await metric(port, UNASKED_METRIC), "1");
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("a reconnect OpenVPN admitted on its own token: one error naming external-auth, not management-client-auth, counted", async () => {
  const { h, port, log } = await bridge();
  try {
    const mark = h.openvpn.received.length;
    // auth-gen-token without external-auth: a new cid, only an ESTABLISHED, the token's state.
    established(h, 8, {
      common_name: "alice",
      session_id: "oX2I+yC4LfiB69r8",
      session_state: "Authenticated",
    });
    // HALT: RESTART would bring it back on the same token, to be killed again until it expires.
    await h.waitForCommand(mark, (line) => line === `client-kill 8 "${TOKEN_KILL_MESSAGE}"`);
    const errors = logged(log);
    assertEquals(errors.length, 1, errors.join("\n"));
    assertStringIncludes(errors[0]!, "OpenVPN admitted cid 8");
    assertStringIncludes(errors[0]!, "auth-gen-token without external-auth");
    assertEquals(unaskedErrors(log), []);
    assertEquals(await metric(port, UNASKED_METRIC), "1");
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("a client the bridge signed in (CONNECT, sign-in, client-auth) is not killed at its ESTABLISHED", async () => {
  const { h, port, log } = await bridge();
  try {
    await signIn(h, 0, "s-alice");
    const mark = h.openvpn.received.length;
    established(h, 0, { common_name: "alice", session_id: "s-alice" });
    // The sentinel comes after OpenVPN asked about cid 0: no error blames the config for it.
    assertEquals(await killsUntil(h, mark, 90), [90]);
    assertEquals(logged(log), []);
    assertEquals(await metric(port, UNASKED_METRIC), "0");
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("after a bridge restart, the ESTABLISHED of a client whose stored session is bound to its cid is not killed", async () => {
  const { h, log } = await bridge({ sessions: "file" });
  try {
    await signIn(h, 3, "s-before-restart");
    await h.stopBridge();
    await h.startBridge();
    const mark = h.openvpn.received.length;
    established(h, 3, { common_name: "alice", session_id: "s-before-restart" });
    assertEquals(await killsUntil(h, mark, 91), [91]);
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("the ESTABLISHED of a common name on bypass_common_names is not killed", async () => {
  const { h, log } = await bridge({
    servers: [{ name: "default", toml: 'bypass_common_names = ["monitor-[0-9]+"]' }],
  });
  try {
    const mark = h.openvpn.received.length;
    established(h, 4, { common_name: "monitor-1", session_id: "" });
    assertEquals(await killsUntil(h, mark, 92), [92]);
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("100 clients OpenVPN admitted unasked: 100 kills, one error line, counted 100", async () => {
  const { h, port, log } = await bridge();
  try {
    const mark = h.openvpn.received.length;
    for (let cid = 0; cid < 100; cid++) established(h, cid, { common_name: `user-${cid}` });
    for (let cid = 0; cid < 100; cid++) {
      await h.waitForCommand(mark, (line) => line === `client-kill ${cid} "RESTART"`);
    }
    const kills = h.commandsSince(mark).filter((line) => line.startsWith("client-kill "));
    assertEquals(kills.length, 100);
    const errors = unaskedErrors(log);
    assertEquals(errors.length, 1, "one line a minute");
    assertEquals(logged(log), errors);
    assertEquals(await metric(port, UNASKED_METRIC), "100");
  } finally {
    log.restore();
    await h.stop();
  }
});
