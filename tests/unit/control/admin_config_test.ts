/**
 * What the admin commands read of the config: `[control] socket` alone (its environment
 * variable, the file or the default), checked by the service's rule. The rest of the config is
 * the service's: a secret set only in its environment or a half-edited key elsewhere must not
 * keep an operator from ending a session.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { EXIT_OK, EXIT_USAGE, runCli } from "../../../src/cli.ts";
import { ADMIN_CONFIG, ADMIN_SOCKET, adminCli } from "../../support/admin_cli.ts";

const CLIENT_SECRET_LINE = 'client_secret = "s3cret"\n';
const WITHOUT_CONTROL = ADMIN_CONFIG.slice(0, ADMIN_CONFIG.indexOf("[control]"));

const REACHABLE: Array<[string, string]> = [
  // The help's own example: OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET from the unit's EnvironmentFile=.
  ["without oidc.client_secret", ADMIN_CONFIG.replace(CLIENT_SECRET_LINE, "")],
  ["with a bad log.level", `${ADMIN_CONFIG}[log]\nlevel = "verbose"\n`],
  ["with a misspelt key in another section", ADMIN_CONFIG.replace("[http]", "[http]\nlisen = 1")],
];

for (const [what, config] of REACHABLE) {
  Deno.test(`the admin commands reach the control socket of a config ${what}`, async () => {
    for (const args of [["sessions", "list"], ["logins", "list"], ["sessions", "revoke", "s-1"]]) {
      const t = adminCli({ ok: true, sessions: [] }, { "/x.toml": config });
      assertEquals(await runCli([...args, "-c", "/x.toml"], t.io), EXIT_OK, t.err());
      assertEquals(t.sent.map(([path]) => path), [ADMIN_SOCKET], args.join(" "));
    }
  });
}

Deno.test("the admin commands take the socket from OPENVPN_AUTH_OIDC_CONTROL_SOCKET, else the default", async () => {
  const fromEnv = adminCli({ ok: true, sessions: [] }, { "/x.toml": ADMIN_CONFIG });
  fromEnv.io.env = { OPENVPN_AUTH_OIDC_CONTROL_SOCKET: "/run/other/control.sock" };
  assertEquals(await runCli(["sessions", "list", "-c", "/x.toml"], fromEnv.io), EXIT_OK);
  assertEquals(fromEnv.sent.map(([path]) => path), ["/run/other/control.sock"]);
  const byDefault = adminCli({ ok: true, sessions: [] }, { "/x.toml": WITHOUT_CONTROL });
  assertEquals(await runCli(["sessions", "list", "-c", "/x.toml"], byDefault.io), EXIT_OK);
  assertEquals(byDefault.sent.map(([path]) => path), ["/run/openvpn-auth-oidc/control.sock"]);
});

const REFUSED: Array<[string, string, Record<string, string>, string]> = [
  [
    "a relative socket path",
    ADMIN_CONFIG.replace(ADMIN_SOCKET, "control.sock"),
    {},
    `control.socket (line ${
      ADMIN_CONFIG.split("\n").indexOf(`socket = "${ADMIN_SOCKET}"`) + 1
    }): ` +
    'Expected an absolute path, got "control.sock"',
  ],
  [
    "a socket path from the environment too long for a unix socket",
    ADMIN_CONFIG,
    { OPENVPN_AUTH_OIDC_CONTROL_SOCKET: `/run/${"x".repeat(110)}` },
    "(from OPENVPN_AUTH_OIDC_CONTROL_SOCKET)",
  ],
  [
    "a socket that is no string",
    `${ADMIN_CONFIG}`.replace(`"${ADMIN_SOCKET}"`, "7"),
    {},
    "control.socket",
  ],
  [
    "[control] that is no table",
    `control = "${ADMIN_SOCKET}"\n${WITHOUT_CONTROL}`,
    {},
    "Expected a table ([control])",
  ],
  ["a TOML syntax error", `${ADMIN_CONFIG}[log\n`, {}, "(syntax)"],
  ["a misspelt [control] key", `${ADMIN_CONFIG}sockte = "/run/x.sock"\n`, {}, "control.sockte"],
];

for (const [what, config, env, message] of REFUSED) {
  Deno.test(`the admin commands refuse ${what}: exit 2, nothing sent`, async () => {
    const t = adminCli({ ok: true, sessions: [] }, { "/x.toml": config });
    t.io.env = env;
    assertEquals(await runCli(["sessions", "list", "-c", "/x.toml"], t.io), EXIT_USAGE);
    assertStringIncludes(t.err(), "Invalid configuration in /x.toml:");
    assertStringIncludes(t.err(), message);
    assertEquals(t.sent, []);
  });
}
