/**
 * With stderr journald's stream, each log line begins with the sd-daemon(3) prefix of its
 * priority, which journald takes and strips (src/journal_stream.ts); otherwise no line has one.
 */
import { assertEquals } from "../support/assert.ts";
import { audit, type AuditEvent } from "../../src/audit.ts";
import { AUDIT_CATEGORY, getLogger, journalPriority } from "../../src/log.ts";
import { PRIORITY } from "../../src/journal_stream.ts";
import { linesLogged } from "../support/stderr_capture.ts";

function everyLevel(): void {
  const log = getLogger("test");
  log.debug("a debug line");
  log.info("an info line");
  log.warning("a warning line");
  log.error("an error line");
  log.fatal("a fatal line");
}

const WHO = {
  server: "default",
  cid: 4,
  commonName: "alice-laptop",
  clientIp: "198.51.100.7",
  username: "alice",
  subject: "f3a1",
};

Deno.test("journalPriority() maps each level to its syslog priority", () => {
  const record = (level: "trace" | "debug" | "info" | "warning" | "error" | "fatal") => ({
    category: ["openvpn-auth-oidc", "test"],
    level,
    properties: {},
  });
  assertEquals(journalPriority(record("trace")), PRIORITY.debug);
  assertEquals(journalPriority(record("debug")), PRIORITY.debug);
  assertEquals(journalPriority(record("info")), PRIORITY.info);
  assertEquals(journalPriority(record("warning")), PRIORITY.warning);
  assertEquals(journalPriority(record("error")), PRIORITY.err);
  assertEquals(journalPriority(record("fatal")), PRIORITY.crit);
});

Deno.test("journalPriority() makes an audit refusal a notice, and only in the audit log", () => {
  const expected: Record<AuditEvent, number> = {
    admitted: PRIORITY.info,
    denied: PRIORITY.notice,
    reauth_denied: PRIORITY.notice,
    recheck_denied: PRIORITY.notice,
    session_ended: PRIORITY.info,
    established: PRIORITY.info,
    client_left: PRIORITY.info,
  };
  for (const [event, priority] of Object.entries(expected)) {
    const record = { category: AUDIT_CATEGORY, level: "info" as const, properties: { event } };
    assertEquals(journalPriority(record), priority, event);
  }
  const elsewhere = {
    category: ["openvpn-auth-oidc", "clients"],
    level: "info" as const,
    properties: { event: "denied" },
  };
  assertEquals(journalPriority(elsewhere), PRIORITY.info);
});

for (const format of ["text", "json"] as const) {
  Deno.test(`in ${format} format with stderr the journal, every line begins with its level's prefix`, () => {
    const lines = linesLogged(format, true, everyLevel);
    assertEquals(lines.map((line) => line.slice(0, 3)), ["<7>", "<6>", "<4>", "<3>", "<2>"]);
    if (format === "json") {
      // What journald keeps once it stripped the prefix is the JSON line, whole.
      assertEquals(lines.map((line) => JSON.parse(line.slice(3)).message), [
        "a debug line",
        "an info line",
        "a warning line",
        "an error line",
        "a fatal line",
      ]);
    }
  });

  Deno.test(`in ${format} format with stderr not the journal, no line has a prefix`, () => {
    const lines = linesLogged(format, false, everyLevel);
    assertEquals(lines.length, 5);
    assertEquals(lines.filter((line) => line.startsWith("<")), []);
  });
}

Deno.test("audit lines reach the journal as info when admitted, as notices when denied", () => {
  const lines = linesLogged("json", true, () => {
    audit("admitted", WHO);
    audit("denied", WHO, "group");
    audit("reauth_denied", WHO, "recheck_failed");
    audit("recheck_denied", WHO, "group");
    audit("session_ended", WHO, "logout");
  });
  assertEquals(lines.map((line) => line.slice(0, 3)), ["<6>", "<5>", "<5>", "<5>", "<6>"]);
  assertEquals(lines.map((line) => JSON.parse(line.slice(3)).properties.event), [
    "admitted",
    "denied",
    "reauth_denied",
    "recheck_denied",
    "session_ended",
  ]);
});

/** The level tag of a text line (`[INF]`, `[WRN]`, ...), after its prefix if any. */
const tagOf = (line: string) => /^(?:<\d>)?\S+ \S+ \S+ \[([A-Z]{3})\] /.exec(line)?.[1];

Deno.test("in text format an audit refusal's level tag is the notice it is filed under, with or without the journal", () => {
  for (const journal of [true, false]) {
    const lines = linesLogged("text", journal, () => {
      audit("admitted", WHO);
      audit("denied", WHO, "group");
      audit("reauth_denied", WHO, "recheck_failed");
      audit("recheck_denied", WHO, "group");
      audit("session_ended", WHO, "logout");
    });
    // NTC, as README names it: LogTape has no notice level of its own.
    assertEquals(lines.map(tagOf), ["INF", "NTC", "NTC", "NTC", "INF"], `journal ${journal}`);
    if (journal) {
      assertEquals(lines.map((line) => line.slice(0, 3)), ["<6>", "<5>", "<5>", "<5>", "<6>"]);
    }
  }
  // Every other line keeps its level's tag.
  assertEquals(linesLogged("text", true, everyLevel).map(tagOf), [
    "DBG",
    "INF",
    "WRN",
    "ERR",
    "FTL",
  ]);
});
