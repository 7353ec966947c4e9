/**
 * The audit log with the real bridge: who was admitted, and whose session another path ended
 * (sessions.max_per_user through SessionEnd), as JSON lines under the audit category, at the
 * harness's log level `error`.
 */
import { assertEquals } from "../../support/assert.ts";
import { type AuditRecord, auditRecords as auditRecordsIn } from "../../support/audit_records.ts";
import { join } from "node:path";
import {
  BridgeHarness,
  clientEnv,
  type HarnessOptions,
  parseHarnessToml,
} from "../../support/bridge_harness.ts";
import { rawControlRequest } from "../../support/control_socket.ts";
import { captureStderr, type StderrCapture } from "../../support/stderr_capture.ts";
import { restartInPlace, type RestartSignal } from "../../support/restart_in_place.ts";
import { STARTED_AT } from "../../support/openvpn_side.ts";

/** The harness's config, its log at level `error` written as JSON lines. */
function jsonLogToml(h: BridgeHarness): string {
  return h.toml.replace(/\[log\]\nlevel = "error"/, '[log]\nlevel = "error"\nformat = "json"');
}

/** The harness's bridge, its log at level `error` written as JSON lines, and those lines. */
async function auditedBridge(
  options: HarnessOptions,
): Promise<{ h: BridgeHarness; log: StderrCapture }> {
  const h = await BridgeHarness.start(options);
  await h.reload(jsonLogToml(h));
  return { h, log: captureStderr() };
}

/** The properties of each audit line written so far. */
function auditRecords(log: StderrCapture): AuditRecord[] {
  return auditRecordsIn(log.lines());
}

/** `record` with only the properties named in `keys`. */
function pick(record: AuditRecord, keys: readonly string[]): AuditRecord {
  return Object.fromEntries(keys.map((key) => [key, record[key]]));
}

/** Who and why, as every line has them (not the IdP's subject, which each run makes anew). */
const WHO_AND_WHY = ["event", "username", "server", "cid", "commonName", "clientIp", "reason"];

/** Waits until an audit line that `matches` is written; all of them up to then. */
async function auditUntil(
  log: StderrCapture,
  matches: (record: AuditRecord) => boolean,
): Promise<AuditRecord[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const records = auditRecords(log);
    if (records.some(matches)) return records;
    if (Date.now() > deadline) {
      throw new Error(`No such audit line; written: ${JSON.stringify(records)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Alice signs in on cid 0, then on cid 1, with the certificates `commonNames`, under
 * max_per_user = 1: who and why of the audit lines once cid 0 is killed.
 */
async function secondSignInAudit(commonNames: [string, string]): Promise<AuditRecord[]> {
  const { h, log } = await auditedBridge({ sessionsToml: "max_per_user = 1" });
  try {
    for (const cid of [0, 1]) {
      const url = await h.connect(cid, { common_name: commonNames[cid]!, session_id: `s-${cid}` });
      const mark = h.openvpn.received.length;
      await h.browserLogin(url, "alice", "alice-password");
      await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
    }
    await h.waitForCommand(
      0,
      (line) => line === 'client-kill 0 "RESTART,You signed in on another device"',
    );
    return auditRecords(log).map((record) => pick(record, WHO_AND_WHY));
  } finally {
    log.restore();
    await h.stop();
  }
}

/** An audit line of alice's from 127.0.0.1 on `default`, who and why. */
function aliceLine(event: string, cid: number, commonName: string, reason: string | null) {
  return {
    event,
    username: "alice",
    server: "default",
    cid,
    commonName,
    clientIp: "127.0.0.1",
    reason,
  };
}

Deno.test("audit: an admission and a session ended by max_per_user, as JSON lines", async () => {
  assertEquals(await secondSignInAudit(["alice-0", "alice-1"]), [
    aliceLine("admitted", 0, "alice-0", null),
    aliceLine("admitted", 1, "alice-1", null),
    aliceLine("session_ended", 0, "alice-0", "max_per_user"),
  ]);
});

Deno.test("audit: a session replaced by a sign-in from the same device ends as replaced, not max_per_user", async () => {
  assertEquals(await secondSignInAudit(["alice", "alice"]), [
    aliceLine("admitted", 0, "alice", null),
    aliceLine("admitted", 1, "alice", null),
    aliceLine("session_ended", 0, "alice", "replaced"),
  ]);
});

Deno.test("audit: a bypassed common name's CONNECT is an admission, reason bypass; its REAUTH is not", async () => {
  const { h, log } = await auditedBridge({
    servers: [{ name: "default", toml: 'bypass_common_names = ["^gw-1$"]' }],
  });
  const openvpn = h.openvpn;
  try {
    const gateway = clientEnv({ common_name: "gw-1", untrusted_ip: "192.0.2.99" });
    let mark = openvpn.received.length;
    openvpn.sendClientBlock("CONNECT", 2, 1, gateway);
    await h.waitForCommand(mark, (line) => line === "client-auth-nt 2 1");
    await auditUntil(log, (record) => record["event"] === "admitted");
    mark = openvpn.received.length;
    openvpn.sendClientBlock("REAUTH", 2, 2, gateway);
    await h.waitForCommand(mark, (line) => line === "client-auth-nt 2 2");
    // A line written after the REAUTH's answer: one for the REAUTH would come before it.
    openvpn.sendClientBlock("CONNECT", 3, 1, clientEnv({ IV_SSO: "openurl" }));
    const audit = await auditUntil(log, (record) => record["event"] === "denied");
    assertEquals(
      audit.map(({ event, username, subject, cid, commonName, clientIp, reason }) => ({
        event,
        username,
        subject,
        cid,
        commonName,
        clientIp,
        reason,
      })),
      [
        {
          event: "admitted",
          username: "",
          subject: "",
          cid: 2,
          commonName: "gw-1",
          clientIp: "192.0.2.99",
          reason: "bypass",
        },
        {
          event: "denied",
          username: "",
          subject: "",
          cid: 3,
          commonName: "alice",
          clientIp: "127.0.0.1",
          reason: "no_webauth",
        },
      ],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("audit: ESTABLISHED writes the VPN addresses and the client's port, with the user of the session bound to it", async () => {
  const { h, log } = await auditedBridge({
    servers: [{ name: "default", toml: 'bypass_common_names = ["^gw-1$"]' }],
  });
  const openvpn = h.openvpn;
  try {
    // With auth-gen-token (a session_id), and without (found by its cid).
    await h.signIn(0, { untrusted_ip: "203.0.113.5", session_id: "s-a" });
    await h.signIn(1, { common_name: "alice-2", session_id: undefined });
    const tunnel = {
      untrusted_ip: "203.0.113.5",
      untrusted_port: "50123",
      session_id: "s-a",
      ifconfig_pool_remote_ip: "10.8.0.23",
      ifconfig_pool_remote_ip6: "fd00::23",
    };
    openvpn.sendClientBlock("ESTABLISHED", 0, undefined, clientEnv(tunnel));
    openvpn.sendClientBlock(
      "ESTABLISHED",
      1,
      undefined,
      clientEnv({
        common_name: "alice-2",
        session_id: undefined,
        ifconfig_pool_remote_ip: "10.8.0.24",
      }),
    );
    openvpn.sendClientBlock(
      "ESTABLISHED",
      2,
      undefined,
      clientEnv({ common_name: "gw-1", untrusted_port: "1", ifconfig_pool_remote_ip: "10.8.0.99" }),
    );
    const established = (record: AuditRecord) => record["event"] === "established";
    const audit = await auditUntil(log, () => auditRecords(log).filter(established).length === 3);
    const subject = audit[0]!["subject"];
    assertEquals(
      audit.filter(established)
        .sort((a, b) => Number(a["cid"]) - Number(b["cid"]))
        .map((record) =>
          pick(record, [...WHO_AND_WHY, "subject", "clientPort", "virtualIp", "virtualIp6"])
        ),
      [
        {
          event: "established",
          username: "alice",
          server: "default",
          cid: 0,
          commonName: "alice",
          clientIp: "203.0.113.5",
          reason: null,
          subject,
          clientPort: 50123,
          virtualIp: "10.8.0.23",
          virtualIp6: "fd00::23",
        },
        {
          event: "established",
          username: "alice",
          server: "default",
          cid: 1,
          commonName: "alice-2",
          clientIp: "127.0.0.1",
          reason: null,
          subject,
          clientPort: 50000,
          virtualIp: "10.8.0.24",
          virtualIp6: null,
        },
        {
          event: "established",
          username: "",
          server: "default",
          cid: 2,
          commonName: "gw-1",
          clientIp: "127.0.0.1",
          reason: null,
          subject: "",
          clientPort: 1,
          virtualIp: "10.8.0.99",
          virtualIp6: null,
        },
      ],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("audit: the DISCONNECT of a client with a session writes client_left with its duration and bytes, resumable or not", async () => {
  const { h, log } = await auditedBridge({});
  const openvpn = h.openvpn;
  try {
    // A 2.6 client presents its token when it comes back: its session outlives the tunnel.
    await h.signIn(0, { session_id: "s-a" });
    // One that cannot (2.5.2, certificate only): its session ends with the tunnel.
    await h.signIn(1, { common_name: "alice-2", session_id: "s-b", IV_VER: "2.5.2" });
    const traffic = (seconds: string) => ({
      time_duration: seconds,
      bytes_received: "1000",
      bytes_sent: "2000",
    });
    openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv(traffic("60")));
    openvpn.sendClientBlock(
      "DISCONNECT",
      1,
      undefined,
      clientEnv({ common_name: "alice-2", ...traffic("61") }),
    );
    // A client with no session (it left mid sign-in): no line.
    await h.connect(2, { session_id: "s-c" });
    openvpn.sendClientBlock("DISCONNECT", 2, undefined, clientEnv(traffic("1")));
    const left = (record: AuditRecord) => record["event"] === "client_left";
    await auditUntil(log, () => auditRecords(log).filter(left).length === 2);
    // The pending sign-in's DISCONNECT, handled before this one, would have written its line.
    openvpn.sendClientBlock("CONNECT", 3, 1, clientEnv({ IV_SSO: "openurl" }));
    const audit = await auditUntil(log, (record) => record["event"] === "denied");
    assertEquals(
      audit.filter((record) => record["event"] !== "admitted" && record["event"] !== "denied")
        .sort((a, b) => Number(a["cid"]) - Number(b["cid"]) || (left(a) ? 1 : -1))
        .map((record) =>
          pick(record, [...WHO_AND_WHY, "durationSec", "bytesReceived", "bytesSent"])
        ),
      [
        {
          event: "client_left",
          username: "alice",
          server: "default",
          cid: 0,
          commonName: "alice",
          clientIp: "127.0.0.1",
          reason: null,
          durationSec: 60,
          bytesReceived: 1000,
          bytesSent: 2000,
        },
        {
          event: "session_ended",
          username: "alice",
          server: "default",
          cid: 1,
          commonName: "alice-2",
          clientIp: "127.0.0.1",
          reason: "disconnected",
          durationSec: null,
          bytesReceived: null,
          bytesSent: null,
        },
        {
          event: "client_left",
          username: "alice",
          server: "default",
          cid: 1,
          commonName: "alice-2",
          clientIp: "127.0.0.1",
          reason: null,
          durationSec: 61,
          bytesReceived: 1000,
          bytesSent: 2000,
        },
      ],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("audit: a client that reconnected with its token on a new cid has its old tunnel's client_left, named as at ESTABLISHED", async () => {
  const { h, log } = await auditedBridge({});
  const openvpn = h.openvpn;
  try {
    // OpenVPN 2.6 after SIGUSR1 on the client: the token CONNECT on cid 1 rebinds the session
    // before the DISCONNECT of cid 0 comes.
    await h.signIn(0, { untrusted_ip: "203.0.113.5", session_id: "s-a" });
    openvpn.sendClientBlock(
      "ESTABLISHED",
      0,
      undefined,
      clientEnv({ untrusted_ip: "203.0.113.5", session_id: "s-a" }),
    );
    await auditUntil(log, (record) => record["event"] === "established");
    const mark = openvpn.received.length;
    const token = { session_id: "s-a", session_state: "Authenticated" };
    openvpn.sendClientBlock("CONNECT", 1, 1, clientEnv(token));
    await h.waitForCommand(mark, (line) => line.startsWith("client-auth 1 1"));
    openvpn.sendClientBlock(
      "DISCONNECT",
      0,
      undefined,
      clientEnv({
        untrusted_ip: "203.0.113.5",
        session_id: "s-a",
        time_duration: "60",
        bytes_received: "1000",
        bytes_sent: "2000",
      }),
    );
    openvpn.sendClientBlock("ESTABLISHED", 1, undefined, clientEnv(token));
    const established = (record: AuditRecord) => record["event"] === "established";
    await auditUntil(log, () => auditRecords(log).filter(established).length === 2);
    const left = (record: AuditRecord) => record["event"] === "client_left";
    const audit = await auditUntil(log, left);
    assertEquals(
      audit.filter(left).map((record) =>
        pick(record, [...WHO_AND_WHY, "sessionId", "durationSec", "bytesReceived", "bytesSent"])
      ),
      [{
        ...aliceLine("client_left", 0, "alice", null),
        clientIp: "203.0.113.5",
        sessionId: "s-a",
        durationSec: 60,
        bytesReceived: 1000,
        bytesSent: 2000,
      }],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("audit: a client an administrator's revoke kills after a bridge restart has client_left naming the user", async () => {
  const { h, log } = await auditedBridge({ sessions: "file" });
  try {
    await h.signIn(0, { untrusted_ip: "203.0.113.5", session_id: "s-a" });
    // The new process did not admit her: only the revoke's kill can tell its link who cid 0 is.
    await h.stopBridge();
    await h.startBridge(parseHarnessToml(jsonLogToml(h)));
    const mark = h.openvpn.received.length;
    const revoke = '{"command":"sessions.revoke","user":"alice"}\n';
    await rawControlRequest(join(h.dir, "control.sock"), revoke, { halfClose: true });
    await h.waitForCommand(mark, (line) => line.startsWith("client-kill 0 "));
    const traffic = { time_duration: "60", bytes_received: "1000", bytes_sent: "2000" };
    h.openvpn.sendClientBlock(
      "DISCONNECT",
      0,
      undefined,
      clientEnv({ untrusted_ip: "203.0.113.5", session_id: "s-a", ...traffic }),
    );
    const left = (record: AuditRecord) => record["event"] === "client_left";
    const audit = await auditUntil(log, left);
    assertEquals(
      audit.filter(left).map((record) => pick(record, [...WHO_AND_WHY, "durationSec"])),
      [
        { ...aliceLine("client_left", 0, "alice", null), clientIp: "203.0.113.5", durationSec: 60 },
      ],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

Deno.test("audit: a session's lines carry its id; a sign-in's, the browser's address", async () => {
  const { h, log } = await auditedBridge({});
  const openvpn = h.openvpn;
  try {
    // The client connects from afar; the browser (this test) from the loopback address.
    await h.signIn(0, { untrusted_ip: "203.0.113.5", session_id: "s-a" });
    // Up a minute (a DISCONNECT with no time_duration has no client_left: no tunnel came up).
    openvpn.sendClientBlock(
      "DISCONNECT",
      0,
      undefined,
      clientEnv({ session_id: "s-a", time_duration: "60" }),
    );
    await auditUntil(log, (record) => record["event"] === "client_left");
    // It comes back with its token: no browser.
    const mark = openvpn.received.length;
    openvpn.sendClientBlock(
      "CONNECT",
      1,
      1,
      clientEnv({ session_id: "s-a", session_state: "Authenticated" }),
    );
    await h.waitForCommand(mark, (line) => line.startsWith("client-auth 1 1"));
    // Cancelled at the IdP: a sign-in refused, with no session.
    const url = await h.connect(2, { session_id: "s-c" });
    await h.browserLogin(url, "alice", "alice-password", { cancel: true });
    const audit = await auditUntil(log, (record) => record["event"] === "denied");
    assertEquals(
      audit.map((record) => pick(record, ["event", "cid", "clientIp", "sessionId", "browserIp"])),
      [
        {
          event: "admitted",
          cid: 0,
          clientIp: "203.0.113.5",
          sessionId: "s-a",
          browserIp: "127.0.0.1",
        },
        {
          event: "client_left",
          cid: 0,
          clientIp: "203.0.113.5",
          sessionId: "s-a",
          browserIp: null,
        },
        { event: "admitted", cid: 1, clientIp: "127.0.0.1", sessionId: "s-a", browserIp: null },
        {
          event: "denied",
          cid: 2,
          clientIp: "127.0.0.1",
          sessionId: null,
          browserIp: "127.0.0.1",
        },
      ],
    );
  } finally {
    log.restore();
    await h.stop();
  }
});

/**
 * Who comes back on which cid after OpenVPN restarted in place: as measured, each on its own
 * after SIGHUP, and on one another's after SIGUSR1 (restart_in_place.ts).
 */
const BACK_ON: ReadonlyArray<{ signal: RestartSignal; alice: number; gateway: number }> = [
  { signal: "SIGHUP", alice: 0, gateway: 2 },
  { signal: "SIGUSR1", alice: 2, gateway: 0 },
];

for (const back of BACK_ON) {
  Deno.test(`audit: OpenVPN restarts in place (${back.signal}), each client's DISCONNECT before the state line: one client_left per tunnel, naming its user; alice back on her token, carol's session ended once`, async () => {
    const { h, log } = await auditedBridge({
      servers: [{ name: "default", toml: 'bypass_common_names = ["^gw-1$"]' }],
    });
    const openvpn = h.openvpn;
    try {
      // Alice's 2.6 client presents its token when it comes back; carol's 2.5.2 certificate-only
      // one cannot, so her session ends with her tunnel; the gateway is on the bypass list.
      const alice = { session_id: "s-a" };
      const carol = { common_name: "carol", session_id: "s-c", IV_VER: "2.5.2" };
      const gateway = { common_name: "gw-1", session_id: "s-gw" };
      await h.signIn(0, alice);
      await h.signIn(1, carol, "carol");
      let mark = openvpn.received.length;
      openvpn.sendClientBlock("CONNECT", 2, 1, clientEnv(gateway));
      await h.waitForCommand(mark, (line) => line === "client-auth-nt 2 1");
      for (const [cid, env] of [[0, alice], [1, carol], [2, gateway]] as const) {
        openvpn.sendClientBlock("ESTABLISHED", cid, undefined, clientEnv(env));
      }
      const established = (record: AuditRecord) => record["event"] === "established";
      await auditUntil(log, () => auditRecords(log).filter(established).length === 3);
      const before = auditRecords(log).length;

      const traffic = (seconds: number) => ({
        time_duration: String(seconds),
        bytes_received: "1000",
        bytes_sent: "2000",
      });
      await restartInPlace(openvpn, back.signal, [
        { cid: 2, env: clientEnv({ ...gateway, ...traffic(62) }) },
        { cid: 1, env: clientEnv({ ...carol, ...traffic(61) }) },
        { cid: 0, env: clientEnv({ ...alice, ...traffic(60) }) },
      ], STARTED_AT + 3600);
      // The clients come back, each on a cid of the new run.
      mark = openvpn.received.length;
      const aliceBack = { ...alice, session_state: "Authenticated" };
      openvpn.sendClientBlock("CONNECT", back.alice, 1, clientEnv(aliceBack));
      await h.waitForCommand(mark, (line) => line === `client-auth ${back.alice} 1`);
      openvpn.sendClientBlock("CONNECT", back.gateway, 1, clientEnv(gateway));
      await h.waitForCommand(mark, (line) => line === `client-auth-nt ${back.gateway} 1`);
      // Carol signs in again.
      await h.connect(1, carol);
      openvpn.sendClientBlock("ESTABLISHED", back.alice, undefined, clientEnv(aliceBack));
      openvpn.sendClientBlock("ESTABLISHED", back.gateway, undefined, clientEnv(gateway));
      await auditUntil(log, () => auditRecords(log).filter(established).length === 5);

      assertEquals(
        h.commandsSince(mark).filter((line) => line.startsWith("client-pending-auth ")).length,
        1,
        "only carol is asked to sign in again",
      );
      const who = (record: AuditRecord) =>
        pick(record, ["event", "username", "cid", "commonName", "reason", "durationSec"]);
      const line = (
        event: string,
        username: string,
        cid: number,
        commonName: string,
        rest: { reason?: string; durationSec?: number } = {},
      ) => ({
        event,
        username,
        cid,
        commonName,
        reason: rest.reason ?? null,
        durationSec: rest.durationSec ?? null,
      });
      const since = auditRecords(log).slice(before).map(who);
      // What the DISCONNECTs wrote, in whatever order they were handled; each line once.
      const byName = (a: AuditRecord, b: AuditRecord) =>
        String(a["commonName"]).localeCompare(String(b["commonName"])) ||
        String(a["event"]).localeCompare(String(b["event"]));
      assertEquals(
        since.filter((record) => record["event"] !== "admitted" && !established(record))
          .sort(byName),
        [
          line("client_left", "alice", 0, "alice", { durationSec: 60 }),
          line("client_left", "carol", 1, "carol", { durationSec: 61 }),
          line("session_ended", "carol", 1, "carol", { reason: "disconnected" }),
          line("client_left", "", 2, "gw-1", { durationSec: 62 }),
        ],
      );
      // The new run's lines name the clients on their new cids.
      assertEquals(
        since.filter((record) => record["event"] === "admitted" || established(record))
          .sort(byName),
        [
          line("admitted", "alice", back.alice, "alice"),
          line("established", "alice", back.alice, "alice"),
          line("admitted", "", back.gateway, "gw-1", { reason: "bypass" }),
          line("established", "", back.gateway, "gw-1"),
        ],
      );
    } finally {
      log.restore();
      await h.stop();
    }
  });
}
