/**
 * The audit log with the real bridge: who was admitted, and whose session another path ended
 * (sessions.max_per_user through SessionEnd), as JSON lines under the audit category, at the
 * harness's log level `error`.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv, type HarnessOptions } from "../../support/bridge_harness.ts";
import { captureStderr, type StderrCapture } from "../../support/stderr_capture.ts";

/** The harness's bridge, its log at level `error` written as JSON lines, and those lines. */
async function auditedBridge(
  options: HarnessOptions,
): Promise<{ h: BridgeHarness; log: StderrCapture }> {
  const h = await BridgeHarness.start(options);
  await h.reload(
    h.toml.replace(/\[log\]\nlevel = "error"/, '[log]\nlevel = "error"\nformat = "json"'),
  );
  return { h, log: captureStderr() };
}

type AuditRecord = Record<string, unknown>;

/** The properties of each audit line written so far. */
function auditRecords(log: StderrCapture): AuditRecord[] {
  return log.lines().map((line) => JSON.parse(line))
    .filter((record) => record.logger === "openvpn-auth-oidc.audit")
    .map((record) => record.properties);
}

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

Deno.test("audit: an admission and a session ended by max_per_user, as JSON lines", async () => {
  const { h, log } = await auditedBridge({ sessionsToml: "max_per_user = 1" });
  try {
    for (const cid of [0, 1]) {
      const url = await h.connect(cid, { common_name: `alice-${cid}`, session_id: `s-${cid}` });
      const mark = h.openvpn.received.length;
      await h.browserLogin(url, "alice", "alice-password");
      await h.waitForCommand(mark, (line) => line === `client-auth ${cid} 1`);
    }
    await h.waitForCommand(
      0,
      (line) => line === 'client-kill 0 "RESTART,You signed in on another device"',
    );
    const audit = auditRecords(log).map(({ subject: _subject, ...rest }) => rest);
    assertEquals(audit, [
      {
        event: "admitted",
        username: "alice",
        server: "default",
        cid: 0,
        commonName: "alice-0",
        clientIp: "127.0.0.1",
        reason: null,
      },
      {
        event: "admitted",
        username: "alice",
        server: "default",
        cid: 1,
        commonName: "alice-1",
        clientIp: "127.0.0.1",
        reason: null,
      },
      {
        event: "session_ended",
        username: "alice",
        server: "default",
        cid: 0,
        commonName: "alice-0",
        clientIp: "127.0.0.1",
        reason: "max_per_user",
      },
    ]);
  } finally {
    log.restore();
    await h.stop();
  }
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
