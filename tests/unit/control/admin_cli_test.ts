/**
 * The admin commands in process: arguments and exit codes, what is asked of the service, how
 * answers print, and what happens when the service is not running.
 */
import { assertEquals, assertNotMatch, assertStringIncludes } from "../../support/assert.ts";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, runCli } from "../../../src/cli.ts";
import { ADMIN_CONFIG as CONFIG, adminCli as setup, SESSION } from "../../support/admin_cli.ts";
import type { ControlResponse } from "../../../src/control/protocol.ts";

Deno.test("sessions list --json prints the sessions as a JSON array", async () => {
  const t = setup();
  assertEquals(await runCli(["sessions", "list", "--json", "--config", "/x.toml"], t.io), EXIT_OK);
  assertEquals(JSON.parse(t.out()), [SESSION]);
  assertEquals(t.sent, [["/tmp/admin-cli-test-nowhere/control.sock", {
    command: "sessions.list",
  }]]);
});

Deno.test("sessions list prints one aligned row per session, '-' for an unbound cid", async () => {
  const t = setup({ ok: true, sessions: [SESSION, { ...SESSION, sessionId: "s-2", cid: null }] });
  assertEquals(await runCli(["sessions", "list"], t.io), EXIT_OK);
  const lines = t.out().trimEnd().split("\n");
  assertEquals(lines.length, 3);
  assertStringIncludes(lines[0]!, "USER");
  assertStringIncludes(lines[1]!, "alice-laptop");
  assertStringIncludes(lines[1]!, "198.51.100.7");
  assertEquals(lines[2]!.split(/\s+/)[2], "-");
});

Deno.test("sessions list shows control characters from the IdP escaped, never raw", async () => {
  const t = setup({ ok: true, sessions: [{ ...SESSION, username: "eve\u001b[2J\nroot" }] });
  assertEquals(await runCli(["sessions", "list"], t.io), EXIT_OK);
  assertStringIncludes(t.out(), "eve\\x1b[2J\\x0aroot");
  assertEquals(t.out().trimEnd().split("\n").length, 2);
});

Deno.test("sessions and logins list --json escape DEL and C1 characters, and parse back to the same text", async () => {
  const commonName = "laptop\u009b2J\u009b31mEVIL\u007f";
  const login = { server: "default", cid: 9, commonName, clientIp: "203.0.113.5", ageSec: 1 };
  const answers: Array<[string, ControlResponse]> = [
    ["sessions", { ok: true, sessions: [{ ...SESSION, commonName }] }],
    ["logins", { ok: true, logins: [{ ...login, createdAt: SESSION.createdAt }] }],
  ];
  for (const [group, answer] of answers) {
    const t = setup(answer);
    assertEquals(await runCli([group, "list", "--json"], t.io), EXIT_OK);
    assertNotMatch(t.out(), /[\u007f-\u009f]/);
    assertStringIncludes(t.out(), "laptop\\u009b2J\\u009b31mEVIL\\u007f");
    assertEquals((JSON.parse(t.out()) as Array<{ commonName: string }>)[0]!.commonName, commonName);
  }
});

for (
  const [args, target] of [
    [["--user", "alice"], { kind: "user", username: "alice" }],
    [["--subject", "u-1"], { kind: "subject", subject: "u-1" }],
    [["s-1"], { kind: "session", sessionId: "s-1" }],
  ] as const
) {
  Deno.test(`sessions revoke ${args.join(" ")} asks the service and prints how many ended`, async () => {
    const t = setup({ ok: true, ended: 2, stillConnected: [] });
    assertEquals(await runCli(["sessions", "revoke", ...args], t.io), EXIT_OK);
    assertEquals(t.sent[0]?.[1], { command: "sessions.revoke", target });
    assertEquals(t.out(), "2 session(s) ended\n");
    assertEquals(t.err(), "");
  });
}

Deno.test("a revoke that matched nothing says so on stderr and still exits 0", async () => {
  for (
    const [args, note] of [
      [["--user", "bob"], 'no session matched --user "bob"'],
      [["--subject", "u-9"], 'no session matched --subject "u-9"'],
      [["s-9"], 'no session matched session id "s-9"'],
      [["--user", "eve\u001b[2J"], 'no session matched --user "eve\\x1b[2J"'],
    ] as const
  ) {
    const t = setup({ ok: true, ended: 0, stillConnected: [] });
    assertEquals(await runCli(["sessions", "revoke", ...args], t.io), EXIT_OK);
    assertEquals(t.out(), "0 session(s) ended\n");
    assertEquals(t.err(), `openvpn-auth-oidc: ${note}\n`);
  }
});

Deno.test("sessions revoke says which clients could not be disconnected, and exits 1", async () => {
  const t = setup({
    ok: true,
    ended: 2,
    stillConnected: [{ server: "vpn1", cid: 7, username: "alice" }],
  });
  assertEquals(await runCli(["sessions", "revoke", "--user", "alice"], t.io), EXIT_RUNTIME);
  assertEquals(t.out(), "2 session(s) ended\n");
  assertStringIncludes(t.err(), "could not disconnect alice (server vpn1, cid 7)");
});

Deno.test("logins list prints server, cid, common name, IP and age", async () => {
  const t = setup({
    ok: true,
    logins: [{
      server: "default",
      cid: 9,
      commonName: "bob-phone",
      clientIp: "203.0.113.5",
      ageSec: 42,
      createdAt: "2026-11-30T10:00:00.000Z",
    }],
  });
  assertEquals(await runCli(["logins", "list"], t.io), EXIT_OK);
  assertEquals(t.sent[0]?.[1], { command: "logins.list" });
  assertStringIncludes(t.out(), "bob-phone");
  assertStringIncludes(t.out(), "42s");
});

const badArguments = [
  ["sessions"],
  ["sessions", "frobnicate"],
  ["sessions", "list", "extra"],
  ["sessions", "list", "--bogus"],
  ["sessions", "list", "--user", "alice"],
  ["sessions", "revoke"],
  ["sessions", "revoke", "--user", "alice", "--subject", "u-1"],
  ["sessions", "revoke", "--user", "alice", "s-1"],
  ["sessions", "revoke", "s-1", "s-2"],
  ["sessions", "revoke", "--user", ""],
  ["sessions", "revoke", "--json", "s-1"],
  ["logins", "revoke", "s-1"],
  ["logins"],
];

for (const args of badArguments) {
  Deno.test(`'${args.join(" ")}' exits 2 with usage and asks the service nothing`, async () => {
    const t = setup();
    assertEquals(await runCli(args, t.io), EXIT_USAGE);
    assertStringIncludes(t.err(), "Usage");
    assertEquals(t.sent, []);
  });
}

Deno.test("help sessions and sessions --help print usage", async () => {
  for (const args of [["help", "sessions"], ["sessions", "--help"], ["help", "logins"]]) {
    const t = setup();
    assertEquals(await runCli(args, t.io), EXIT_OK, args.join(" "));
    assertStringIncludes(t.out(), "Usage");
  }
});

Deno.test("logins help says what --json prints", async () => {
  const t = setup();
  assertEquals(await runCli(["help", "logins"], t.io), EXIT_OK);
  assertStringIncludes(
    t.out(),
    "--json\nprints a JSON array of objects with server, cid, commonName, clientIp, ageSec",
  );
});

Deno.test("a config that does not load exits 2 before asking the service", async () => {
  const t = setup();
  assertEquals(await runCli(["sessions", "list", "--config", "/missing.toml"], t.io), EXIT_USAGE);
  assertEquals(t.sent, []);
});

Deno.test("with the service not running (nothing on the socket) the command says so and exits 1", async () => {
  const t = setup();
  const { sendControl: _, ...io } = t.io;
  assertEquals(await runCli(["sessions", "list", "--config", "/x.toml"], io), EXIT_RUNTIME);
  assertStringIncludes(t.err(), "The service is not running");
  assertStringIncludes(
    t.err(),
    "nothing listens on /tmp/admin-cli-test-nowhere/control.sock (or it uses another [control] " +
      "socket: check --config)",
  );
});

Deno.test("an argument after 'sessions list' or 'logins list' is named as unexpected", async () => {
  for (const group of ["sessions", "logins"]) {
    const t = setup();
    assertEquals(await runCli([group, "list", "extra"], t.io), EXIT_USAGE);
    assertStringIncludes(t.err(), 'Unexpected argument: "extra"\nUsage');
    assertEquals(t.sent, []);
  }
});

Deno.test("a refused request exits 1 with the service's error", async () => {
  const t = setup({ ok: false, error: "Unknown command" });
  assertEquals(await runCli(["logins", "list"], t.io), EXIT_RUNTIME);
  assertStringIncludes(t.err(), "refused the request: Unknown command");
});

Deno.test("sessions list prints the oldest session first, whatever order the service sent", async () => {
  const at = (hour: number) => `2026-11-30T${String(hour).padStart(2, "0")}:00:00.000Z`;
  const sent = [12, 9, 23, 9, 10].map((hour, i) => ({
    ...SESSION,
    sessionId: `s-${i}`,
    createdAt: at(hour),
  }));
  const json = setup({ ok: true, sessions: sent });
  assertEquals(await runCli(["sessions", "list", "--json"], json.io), EXIT_OK);
  assertEquals(
    (JSON.parse(json.out()) as Array<{ sessionId: string }>).map((row) => row.sessionId),
    ["s-1", "s-3", "s-4", "s-0", "s-2"],
  );
  const table = setup({ ok: true, sessions: sent });
  assertEquals(await runCli(["sessions", "list"], table.io), EXIT_OK);
  const ids = table.out().trimEnd().split("\n").slice(1).map((line) => line.split(/\s+/).at(-1));
  assertEquals(ids, ["s-1", "s-3", "s-4", "s-0", "s-2"]);
});

Deno.test("logins list prints the oldest sign-in first", async () => {
  const login = (cid: number, createdAt: string) => ({
    server: "default",
    cid,
    commonName: "alice-laptop",
    clientIp: "198.51.100.7",
    ageSec: 1,
    createdAt,
  });
  const t = setup({
    ok: true,
    logins: [login(1, "2026-11-30T10:00:02.000Z"), login(2, "2026-11-30T10:00:01.000Z")],
  });
  assertEquals(await runCli(["logins", "list", "--json"], t.io), EXIT_OK);
  assertEquals((JSON.parse(t.out()) as Array<{ cid: number }>).map((row) => row.cid), [2, 1]);
});

Deno.test('with [control] socket = "" the admin commands say the socket is turned off, exit 1 and send nothing', async () => {
  const t = setup();
  const off = CONFIG.replace('socket = "/tmp/admin-cli-test-nowhere/control.sock"', 'socket = ""');
  t.io.readTextFile = () => off;
  for (const args of [["sessions", "list"], ["logins", "list"], ["sessions", "revoke", "s-1"]]) {
    assertEquals(
      await runCli([...args, "--config", "/x.toml"], t.io),
      EXIT_RUNTIME,
      args.join(" "),
    );
  }
  assertEquals(t.sent, []);
  assertStringIncludes(t.err(), 'the control socket is turned off ([control] socket = "")');
});
