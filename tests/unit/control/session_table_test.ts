/**
 * `sessions list`'s table: readable at a common terminal width by default, every field with
 * --wide, columns aligned by display width, and cells that cannot be mistaken for other text.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { EXIT_OK, EXIT_USAGE, runCli } from "../../../src/cli.ts";
import { adminCli, SESSION } from "../../support/admin_cli.ts";
import type { SessionRow } from "../../../src/control/protocol.ts";

/** As Keycloak and the service make them: a UUID subject, a 32-byte base64url session id. */
const TYPICAL: SessionRow = {
  sessionId: "Qm9vdHN0cmFwLXNlc3Npb24taWQtZm9yLXRlc3Rpbmc",
  username: "alice.smith",
  subject: "0cff2c4d-6925-4275-aae7-986d93b771f8",
  server: "default",
  cid: 1599,
  commonName: "alice-laptop",
  clientIp: "203.0.113.218",
  createdAt: "2026-12-05T13:35:17.622Z",
  lastAuthAt: "2026-12-05T14:24:47.122Z",
  expiresAt: "2026-12-05T23:35:17.622Z",
};

async function list(sessions: SessionRow[], ...options: string[]): Promise<string[]> {
  const t = adminCli({ ok: true, sessions });
  assertEquals(await runCli(["sessions", "list", ...options], t.io), EXIT_OK, t.err());
  return t.out().trimEnd().split("\n");
}

Deno.test("sessions list fits a typical session in 120 columns: user, server, cid, common name, IP, created to the minute, session id", async () => {
  const lines = await list([TYPICAL]);
  for (const line of lines) assert(line.length <= 120, `${line.length} columns: ${line}`);
  assertEquals(lines[0]!.split(/\s{2,}/), [
    "USER",
    "SERVER",
    "CID",
    "COMMON NAME",
    "CLIENT IP",
    "CREATED",
    "SESSION ID",
  ]);
  assertEquals(lines[1]!.split(/\s{2,}/), [
    "alice.smith",
    "default",
    "1599",
    "alice-laptop",
    "203.0.113.218",
    "2026-12-05 13:35Z",
    TYPICAL.sessionId,
  ]);
});

Deno.test("sessions list --wide shows every field, times in full", async () => {
  const lines = await list([TYPICAL], "--wide");
  assertEquals(lines[0]!.split(/\s{2,}/), [
    "USER",
    "SUBJECT",
    "SERVER",
    "CID",
    "COMMON NAME",
    "CLIENT IP",
    "CREATED",
    "LAST AUTH",
    "EXPIRES",
    "SESSION ID",
  ]);
  assertEquals(lines[1]!.split(/\s{2,}/), [
    TYPICAL.username,
    TYPICAL.subject,
    TYPICAL.server,
    String(TYPICAL.cid),
    TYPICAL.commonName,
    TYPICAL.clientIp,
    TYPICAL.createdAt,
    TYPICAL.lastAuthAt,
    TYPICAL.expiresAt,
    TYPICAL.sessionId,
  ]);
  const help = adminCli();
  assertEquals(await runCli(["help", "sessions"], help.io), EXIT_OK);
  assertStringIncludes(help.out(), "[--wide | --json]");
});

Deno.test("--wide belongs to sessions list without --json", async () => {
  for (const args of [["sessions", "list", "--wide", "--json"], ["logins", "list", "--wide"]]) {
    const t = adminCli();
    assertEquals(await runCli(args, t.io), EXIT_USAGE, args.join(" "));
    assertStringIncludes(t.err(), "--wide");
    assertEquals(t.sent, []);
  }
});

Deno.test("sessions list aligns columns by display width: CJK characters take two, combining marks none", async () => {
  const users = ["山田太郎", "alice", "Jose\u0301", "ｆｕｌｌ"];
  const lines = await list(users.map((username) => ({ ...SESSION, username })));
  // The column where SERVER starts, as a terminal shows it.
  const columns = lines.map((line) => {
    const before = line.slice(0, line.search(/SERVER|default/));
    const wide = before.match(/[\u4e00-\u9fff\uff00-\uff60]/g)?.length ?? 0;
    const marks = before.match(/\u0301/g)?.length ?? 0;
    return before.length + wide - marks;
  });
  assertEquals(new Set(columns).size, 1, lines.join("\n"));
});

Deno.test("sessions list shows a name as written where a joiner or emoji selector shapes it, the joiners taking no column", async () => {
  const users = ["علی\u200cرضا", "क्\u200dष", "👩\u200d💻", "alice"];
  const lines = await list(users.map((username) => ({ ...SESSION, username })));
  users.forEach((user, i) => assertEquals(lines[i + 1]!.split(/\s+/)[0], user));
  // The column where SERVER starts, as a terminal shows it: the virama is a combining mark, the
  // two emoji are two columns wide each (a terminal that joins them shows one in those four).
  const columns = lines.map((line) => {
    const before = line.slice(0, line.search(/SERVER|default/));
    const none = before.match(/[\u200c\u200d\u094d]/g)?.length ?? 0;
    const emoji = before.match(/\p{Extended_Pictographic}/gu)?.length ?? 0;
    return [...before].length - none + emoji;
  });
  assertEquals(new Set(columns).size, 1, lines.join("\n"));
});

Deno.test("sessions list shows \\ as \\\\, so a name holding the text \\u202e differs from one holding U+202E", async () => {
  const literal = "alice\\u202e";
  const real = "alice\u202e";
  const lines = await list([
    { ...SESSION, sessionId: "s-literal", username: literal },
    { ...SESSION, sessionId: "s-real", username: real },
  ]);
  assertEquals(lines[1]!.split(/\s+/)[0], "alice\\\\u202e");
  assertEquals(lines[2]!.split(/\s+/)[0], "alice\\u202e");
  const t = adminCli({
    ok: true,
    sessions: [{ ...SESSION, username: literal }, { ...SESSION, username: real }],
  });
  assertEquals(await runCli(["sessions", "list", "--json"], t.io), EXIT_OK);
  assertEquals(
    (JSON.parse(t.out()) as SessionRow[]).map((row) => row.username),
    [literal, real],
  );
  const help = adminCli();
  assertEquals(await runCli(["help", "sessions"], help.io), EXIT_OK);
  assertStringIncludes(help.out(), "use --subject (--wide\nshows it) or the SESSION ID");
});

Deno.test("sessions list and logins list name a client without a certificate as the logs do; --json keeps its empty name", async () => {
  const lines = await list([{ ...TYPICAL, commonName: "" }]);
  assertEquals(lines[1]!.split(/\s{2,}/)[3], "(no certificate)");
  const json = adminCli({ ok: true, sessions: [{ ...TYPICAL, commonName: "" }] });
  assertEquals(await runCli(["sessions", "list", "--json"], json.io), EXIT_OK);
  assertEquals((JSON.parse(json.out()) as SessionRow[])[0]!.commonName, "");
  const login = { server: "default", cid: 9, commonName: "", clientIp: "203.0.113.5", ageSec: 42 };
  const logins = adminCli({
    ok: true,
    logins: [{ ...login, createdAt: "2026-12-05T13:35:17.622Z" }],
  });
  assertEquals(await runCli(["logins", "list"], logins.io), EXIT_OK);
  const row = logins.out().trimEnd().split("\n")[1]!.split(/\s{2,}/);
  assertEquals(row, ["default", "9", "(no certificate)", "203.0.113.5", "42s"]);
});
