import { createCa } from "../../support/certificates.ts";
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { type CliIo, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, HELP, runCli } from "../../../src/cli.ts";
import { VERSION } from "../../../src/version.ts";
import { captureLogs, logsOf } from "../../support/log_capture.ts";

const VALID = `
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"
[http]
base_url = "https://vpn.example.com"
secret = "0123456789abcdef0123456789abcdef"
[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "very-secret-value"
`;

function io(files: Record<string, string> = {}, overrides: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const signals: Array<(signal: string) => void> = [];
  const cli: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    readTextFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`No such file: ${path}`);
      return text;
    },
    env: {},
    startService: () => Promise.reject(new Error("not expected")),
    onShutdownSignal: (handler) => signals.push(handler),
    ...overrides,
  };
  return { cli, out: () => out.join(""), err: () => err.join(""), signals };
}

Deno.test("--version prints the version and exits 0", async () => {
  const t = io();
  assertEquals(await runCli(["--version"], t.cli), EXIT_OK);
  assertEquals(t.out(), `openvpn-auth-oidc ${VERSION}\n`);
});

Deno.test("--help and help COMMAND print usage and exit 0", async () => {
  for (
    const args of [["--help"], ["help"], ["help", "check-config"], ["check-config", "--help"], [
      "help",
      "run",
    ]]
  ) {
    const t = io();
    assertEquals(await runCli(args, t.cli), EXIT_OK, args.join(" "));
    assertStringIncludes(t.out(), "Usage");
  }
});

Deno.test("--help and -h without a command print the overview every usage error points to; run --help is run's", async () => {
  for (const args of [["--help"], ["-h"], ["help"], ["-c", "/etc/x.toml", "--help"]]) {
    const t = io();
    assertEquals(await runCli(args, t.cli), EXIT_OK, args.join(" "));
    assertEquals(t.out(), `${HELP.main}\n`, args.join(" "));
  }
  assertStringIncludes(
    HELP.main!,
    "OPENVPN_AUTH_OIDC_CONFIG, else /etc/openvpn-auth-oidc/server.toml",
  );
  for (const args of [["run", "--help"], ["help", "run"]]) {
    const t = io();
    assertEquals(await runCli(args, t.cli), EXIT_OK, args.join(" "));
    assertEquals(t.out(), `${HELP.run}\n`, args.join(" "));
  }
});

Deno.test("unknown commands, options and help topics exit 2 with a pointer to --help", async () => {
  for (
    const args of [
      ["frobnicate"],
      ["--bogus"],
      ["help", "nope"],
      ["check-config", "extra"],
      // Names every object has: not commands either.
      ["help", "constructor"],
      ["-c", "/etc/x.toml", "valueOf"],
      ["toString"],
    ]
  ) {
    const t = io();
    assertEquals(await runCli(args, t.cli), EXIT_USAGE, args.join(" "));
    assertStringIncludes(t.err(), "--help");
  }
});

Deno.test("the admin commands take -c/--config before the command too, and use that config's socket", async () => {
  const path = "/etc/openvpn-auth-oidc/custom.toml";
  const config = `${VALID}[control]\nsocket = "/tmp/cli-test-custom/control.sock"\n`;
  for (
    const [args, command] of [
      [["--config", path, "sessions", "list"], "sessions.list"],
      [["-c", path, "logins", "list"], "logins.list"],
      [["--config=" + path, "sessions", "list"], "sessions.list"],
      [["-c", path, "sessions", "revoke", "--user", "alice"], "sessions.revoke"],
    ] as const
  ) {
    const sent: Array<[string, string]> = [];
    const t = io({ [path]: config }, {
      sendControl: (socket, request) => {
        sent.push([socket, request.command]);
        return Promise.resolve(
          request.command === "sessions.revoke"
            ? { ok: true, ended: 0, stillConnected: [] }
            : request.command === "logins.list"
            ? { ok: true, logins: [] }
            : { ok: true, sessions: [] },
        );
      },
    });
    assertEquals(await runCli([...args], t.cli), EXIT_OK, `${args.join(" ")}: ${t.err()}`);
    assertEquals(sent, [["/tmp/cli-test-custom/control.sock", command]], args.join(" "));
  }
});

Deno.test("general options before an admin command: --help shows its usage, --version the version", async () => {
  const help = io();
  assertEquals(await runCli(["-c", "/etc/x.toml", "--help", "sessions"], help.cli), EXIT_OK);
  assertStringIncludes(help.out(), "sessions revoke");
  const version = io();
  assertEquals(await runCli(["--version", "logins", "list"], version.cli), EXIT_OK);
  assertEquals(version.out(), `openvpn-auth-oidc ${VERSION}\n`);
  const usage = io();
  assertEquals(await runCli(["--config", "/etc/x.toml", "sessions"], usage.cli), EXIT_USAGE);
  assertStringIncludes(usage.err(), "'sessions' needs a command\nUsage:");
});

Deno.test("check-config prints the resolved config with secrets as *** and exits 0", async () => {
  const t = io({ "/etc/x.toml": VALID });
  assertEquals(await runCli(["check-config", "--config", "/etc/x.toml"], t.cli), EXIT_OK);
  const text = t.out();
  assertStringIncludes(text, "# /etc/x.toml: valid");
  assertStringIncludes(text, 'client_secret = "***"');
  assertStringIncludes(text, 'secret = "***"');
  assertStringIncludes(text, 'auth_pending_timeout = "3m"');
  assert(!text.includes("very-secret-value"));
  assert(!text.includes("0123456789abcdef"));
});

Deno.test("check-config --quiet prints nothing for a valid config but its warnings, and every problem of one it refuses", async () => {
  // The packaged unit's ExecReload runs it: its stdout goes to the journal, where the printed
  // config would be noise at every reload.
  const valid = io({ "/etc/x.toml": VALID });
  assertEquals(await runCli(["check-config", "--quiet", "-c", "/etc/x.toml"], valid.cli), EXIT_OK);
  assertEquals([valid.out(), valid.err()], ["", ""]);
  const warned = io({ "/etc/x.toml": VALID }, { fileMode: () => 0o100644 });
  assertEquals(await runCli(["check-config", "--quiet", "-c", "/etc/x.toml"], warned.cli), EXIT_OK);
  assertEquals(warned.out(), "");
  assertStringIncludes(warned.err(), "warning: /etc/x.toml: Holds http.secret");
  const refused = io({ "/etc/x.toml": VALID.replace('client_id = "openvpn"', "") });
  assertEquals(
    await runCli(["check-config", "--quiet", "-c", "/etc/x.toml"], refused.cli),
    EXIT_USAGE,
  );
  assertEquals(refused.out(), "");
  assertStringIncludes(refused.err(), "oidc.client_id: Missing required key");
});

Deno.test("--quiet goes with check-config alone, not with --probe or another command", async () => {
  for (const args of [["check-config", "--quiet", "--probe"], ["run", "--quiet"], ["--quiet"]]) {
    const t = io({ "/etc/x.toml": VALID });
    assertEquals(await runCli([...args, "-c", "/etc/x.toml"], t.cli), EXIT_USAGE, args.join(" "));
    assertStringIncludes(t.err(), "--quiet goes with check-config, without --probe");
  }
});

Deno.test("check-config exits 2 with every problem, each with its key path", async () => {
  const t = io({ "/etc/x.toml": VALID.replace('client_id = "openvpn"', 'client_idd = "openvpn"') });
  assertEquals(await runCli(["check-config", "-c", "/etc/x.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(
    t.err(),
    'oidc.client_idd (line 9): Unknown key (did you mean "client_id"?)',
  );
  assertStringIncludes(t.err(), "oidc.client_id: Missing required key");
});

Deno.test("a missing config file exits 2 and names the file", async () => {
  const t = io();
  assertEquals(await runCli(["check-config", "--config", "/nope.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(t.err(), "Invalid configuration in /nope.toml");
  assertStringIncludes(t.err(), "Cannot read file");
});

Deno.test("the default config path is /etc/openvpn-auth-oidc/server.toml", async () => {
  const t = io({ "/etc/openvpn-auth-oidc/server.toml": VALID });
  assertEquals(await runCli(["check-config"], t.cli), EXIT_OK);
});

Deno.test("running a config that fails validation never starts the service", async () => {
  let started = false;
  const t = io({ "/x.toml": "[openvpn]\n" }, {
    startService: () => {
      started = true;
      return Promise.reject(new Error("x"));
    },
  });
  assertEquals(await runCli(["--config", "/x.toml"], t.cli), EXIT_USAGE);
  assertEquals(started, false);
});

Deno.test("the service runs until a shutdown signal, then stops and exits 0", async () => {
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const t = io({ "/x.toml": VALID }, {
    startService: () =>
      Promise.resolve({
        done,
        stop: () => {
          stopped = true;
          finish();
          return Promise.resolve();
        },
      }),
  });
  const exit = runCli(["--config", "/x.toml"], t.cli);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(t.signals.length, 1);
  t.signals[0]!("SIGTERM");
  assertEquals(await exit, EXIT_OK);
  assert(stopped);
});

Deno.test("a service that cannot start exits 1 with the reason", async () => {
  const t = io({ "/x.toml": VALID }, {
    startService: () => Promise.reject(new Error("address in use")),
  });
  assertEquals(await runCli(["--config", "/x.toml"], t.cli), EXIT_RUNTIME);
  assertStringIncludes(t.err(), "cannot start: address in use");
});

Deno.test("a SIGHUP while the service starts is heard, and reloads once it is up", async () => {
  let up!: () => void;
  const starting = new Promise<void>((resolve) => (up = resolve));
  let reloadHandler: (() => Promise<void>) | undefined;
  const reloaded: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const files = { "/x.toml": VALID };
  const t = io(files, {
    onReloadSignal: (handler) => (reloadHandler = handler),
    startService: async () => {
      await starting;
      return {
        done,
        stop: () => {
          finish();
          return Promise.resolve();
        },
        reload: (config) => {
          reloaded.push(config.oidc.clientId);
          return Promise.resolve({ kept: [] });
        },
      };
    },
  });
  const exit = runCli(["--config", "/x.toml"], t.cli);
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Heard before the start has finished (unheard, the signal would end the process).
  assert(reloadHandler !== undefined, "no SIGHUP listener while the service starts");
  files["/x.toml"] = VALID.replace('client_id = "openvpn"', 'client_id = "edited"');
  await reloadHandler();
  assertEquals(reloaded, []);
  up();
  await pollReloads(() => reloaded.length > 0);
  assertEquals(reloaded, ["edited"]);
  t.signals[0]!("SIGTERM");
  assertEquals(await exit, EXIT_OK);
});

Deno.test("a reload reads the file the service started with, not the one OPENVPN_AUTH_OIDC_CONFIG names by then (README: Reload)", async () => {
  let reloadHandler: (() => Promise<void>) | undefined;
  const reloaded: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const files = {
    "/start.toml": VALID,
    "/later.toml": VALID.replace('client_id = "openvpn"', 'client_id = "later"'),
  };
  const env: Record<string, string> = { OPENVPN_AUTH_OIDC_CONFIG: "/start.toml" };
  const t = io(files, {
    env,
    onReloadSignal: (handler) => (reloadHandler = handler),
    startService: () =>
      Promise.resolve({
        done,
        stop: () => {
          finish();
          return Promise.resolve();
        },
        reload: (config) => {
          reloaded.push(config.oidc.clientId);
          return Promise.resolve({ kept: [] });
        },
      }),
  });
  const exit = runCli([], t.cli);
  await new Promise((resolve) => setTimeout(resolve, 0));
  env.OPENVPN_AUTH_OIDC_CONFIG = "/later.toml";
  files["/start.toml"] = VALID.replace('client_id = "openvpn"', 'client_id = "edited"');
  await reloadHandler!();
  assertEquals(reloaded, ["edited"]);
  t.signals[0]!("SIGTERM");
  assertEquals(await exit, EXIT_OK);
});

async function pollReloads(ready: () => boolean): Promise<void> {
  for (let turn = 0; turn < 100 && !ready(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A temp directory with `files` (relative paths) written into it, removed after `body`. */
async function withFiles(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cli-start-files-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** VALID with `lines` added to its [http] section and `tail` appended. */
function validWith(httpLines: string[], tail = ""): string {
  return VALID.replace("[http]\n", `[http]\n${httpLines.join("\n")}\n`) + tail;
}

const CONFIRM_OK = '<form method="post" action="{{actionUrl}}">' +
  '<input type="hidden" name="csrf" value="{{csrf}}"></form>';
const KEY_PEM =
  "-----BEGIN PRIVATE KEY-----\nkey-material-never-shown\n-----END PRIVATE KEY-----\n";

Deno.test("check-config exits 2 naming a template that lacks a required placeholder", async () => {
  await withFiles(
    { "tpl/de/confirm.html": '<form method="post" action="{{actionUrl}}"></form>' },
    async (dir) => {
      const t = io({ "/x.toml": validWith([`templates_dir = "${dir}/tpl"`]) });
      assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
      assertStringIncludes(t.err(), "Invalid configuration in /x.toml:\n");
      assertStringIncludes(
        t.err(),
        `  - http.templates_dir: Missing placeholder {{csrf}} in template: ${dir}/tpl/de/confirm.html`,
      );
      assertEquals(t.out(), "");
    },
  );
});

Deno.test("check-config exits 2 for a templates_dir with no page template in it (a typo)", async () => {
  const t = io({ "/x.toml": validWith(['templates_dir = "/nonexistent/templtes"']) });
  assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(
    t.err(),
    "  - http.templates_dir: No page template in /nonexistent/templtes",
  );
});

Deno.test("check-config exits 2 naming a template with an unknown placeholder", async () => {
  await withFiles({ "tpl/denied.html": "<p>{{reason}} {{rawHtml}}</p>" }, async (dir) => {
    const t = io({ "/x.toml": validWith([`templates_dir = "${dir}/tpl"`]) });
    assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
    assertStringIncludes(t.err(), "http.templates_dir: Unknown placeholder {{rawHtml}}");
    assertStringIncludes(t.err(), `${dir}/tpl/denied.html`);
  });
});

Deno.test("check-config exits 2 naming the key and path of a TLS file that cannot be read", async () => {
  await withFiles({ "key.pem": KEY_PEM }, async (dir) => {
    const t = io({
      "/x.toml": validWith([
        `tls_cert_file = "${dir}/missing-cert.pem"`,
        `tls_key_file = "${dir}/key.pem"`,
      ]),
    });
    assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
    assertStringIncludes(
      t.err(),
      `  - http.tls_cert_file: Cannot read ${dir}/missing-cert.pem: ENOENT`,
    );
    assert(!t.err().includes("http.tls_key_file"), t.err());
    assert(!t.err().includes("key-material"), t.err());
  });
});

Deno.test("check-config names both TLS files when neither can be read", async () => {
  const t = io({
    "/x.toml": validWith([
      'tls_cert_file = "/nonexistent/c.pem"',
      'tls_key_file = "/nonexistent/k.pem"',
    ]),
  });
  assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(t.err(), "http.tls_cert_file: Cannot read /nonexistent/c.pem");
  assertStringIncludes(t.err(), "http.tls_key_file: Cannot read /nonexistent/k.pem");
});

Deno.test("check-config exits 2 naming sessions.tls_ca_file when the Redis CA cannot be read", async () => {
  const redis = (ca: string) =>
    `[sessions]\nbackend = "redis"\nurl = "rediss://redis.example.com:6380/0"\n` +
    `tls_ca_file = "${ca}"\n`;
  const t = io({ "/x.toml": VALID + redis("/nonexistent/redis-ca.pem") });
  assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(
    t.err(),
    "  - sessions.tls_ca_file: Cannot read /nonexistent/redis-ca.pem: ENOENT",
  );
  // --probe refuses it the same way, before contacting anything.
  const probed = io({ "/x.toml": VALID + redis("/nonexistent/redis-ca.pem") }, {
    probe: () => Promise.reject(new Error("not expected")),
  });
  assertEquals(
    await runCli(["check-config", "--probe", "-c", "/x.toml"], probed.cli),
    EXIT_USAGE,
  );
  assertStringIncludes(probed.err(), "sessions.tls_ca_file: Cannot read /nonexistent/redis-ca.pem");
});

Deno.test("check-config reads templates, TLS files and the Redis CA that are fine, and exits 0", async () => {
  await withFiles(
    { "tpl/confirm.html": CONFIRM_OK, "ca.pem": "ca" },
    async (dir) => {
      const tls = await createCa(dir, "server", "vpn.example.com");
      const t = io({
        "/x.toml": validWith(
          [
            `templates_dir = "${dir}/tpl"`,
            `tls_cert_file = "${tls.cert}"`,
            `tls_key_file = "${tls.key}"`,
          ],
          `[sessions]\nbackend = "redis"\nurl = "rediss://redis.example.com:6380/0"\n` +
            `tls_ca_file = "${dir}/ca.pem"\n`,
        ),
      });
      assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_OK, t.err());
      assertStringIncludes(t.out(), "# /x.toml: valid");
    },
  );
});

Deno.test("check-config exits 2 when the TLS key is not the certificate's (one file renewed, not the other), or a file is not PEM", async () => {
  await withFiles({ "garbage.pem": KEY_PEM }, async (dir) => {
    const renewed = await createCa(dir, "renewed", "vpn.example.com");
    const old = await createCa(dir, "old", "vpn.example.com");
    const check = async (cert: string, key: string) => {
      const t = io({
        "/x.toml": validWith([`tls_cert_file = "${cert}"`, `tls_key_file = "${key}"`]),
      });
      assertEquals(await runCli(["check-config", "-c", "/x.toml"], t.cli), EXIT_USAGE);
      assert(!t.err().includes("key-material"), t.err());
      return t.err();
    };
    assertStringIncludes(
      await check(renewed.cert, old.key),
      `  - http.tls_key_file: ${old.key} is not the key of the certificate in ${renewed.cert}`,
    );
    assertStringIncludes(
      await check(`${dir}/garbage.pem`, old.key),
      `  - http.tls_cert_file: ${dir}/garbage.pem is not a PEM certificate`,
    );
    assertStringIncludes(
      await check(old.cert, `${dir}/garbage.pem`),
      `  - http.tls_key_file: ${dir}/garbage.pem is not a PEM private key`,
    );
  });
});

Deno.test("check-config warns about inline secrets in a config others can read, and exits 0", async () => {
  const t = io({ "/etc/x.toml": VALID }, { fileMode: () => 0o100644 });
  assertEquals(await runCli(["check-config", "--config", "/etc/x.toml"], t.cli), EXIT_OK);
  assertStringIncludes(t.out(), "# /etc/x.toml: valid");
  assertStringIncludes(
    t.err(),
    "warning: /etc/x.toml: Holds http.secret, oidc.client_secret and can be read by " +
      "other users (mode 0644): run chmod o-r /etc/x.toml",
  );
  assert(!t.err().includes("very-secret-value") && !t.err().includes("0123456789abcdef"));
});

Deno.test("the service logs the config's warnings at start and after a reload", async () => {
  let reloadHandler: (() => Promise<void>) | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const t = io({ "/x.toml": VALID }, {
    fileMode: () => 0o100644,
    onReloadSignal: (handler) => (reloadHandler = handler),
    startService: () =>
      Promise.resolve({
        done,
        stop: () => {
          finish();
          return Promise.resolve();
        },
        reload: () => Promise.resolve({ kept: [] }),
      }),
  });
  const lines = await logsOf(async () => {
    const exit = runCli(["--config", "/x.toml"], t.cli);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await reloadHandler!();
    t.signals[0]!("SIGTERM");
    assertEquals(await exit, EXIT_OK);
  });
  const warnings = lines.filter((line) => line.category === "config");
  assertEquals(warnings.map((line) => line.level), ["warning", "warning"]);
  for (const { text } of warnings) {
    assertStringIncludes(text, "/x.toml: Holds http.secret, oidc.client_secret");
  }
});

Deno.test("a reload names each environment variable in force and its key, never the value", async () => {
  // systemd's ExecReload check reads an edited EnvironmentFile; the service reads its own start's.
  const env = {
    OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS: "/vpn-users",
    OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "secret-from-the-environment",
    OPENVPN_AUTH_OIDC_HTTP_SECRET_FILE: "/run/http-secret",
    OPENVPN_AUTH_OIDC_CONFIG: "/x.toml",
  };
  let reloadHandler: (() => Promise<void>) | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const HTTP_SECRET = "fedcba9876543210fedcba9876543210";
  const t = io({ "/x.toml": VALID, "/run/http-secret": HTTP_SECRET }, {
    env,
    onReloadSignal: (handler) => (reloadHandler = handler),
    startService: () =>
      Promise.resolve({
        done,
        stop: () => {
          finish();
          return Promise.resolve();
        },
        reload: () => Promise.resolve({ kept: [] }),
      }),
  });
  const { lines, stop } = captureLogs();
  try {
    const exit = runCli([], t.cli);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(lines.filter((line) => line.category === "reload"), [], "named at the start");
    await reloadHandler!();
    t.signals[0]!("SIGTERM");
    assertEquals(await exit, EXIT_OK);
  } finally {
    stop();
  }
  const warnings = lines.filter((line) => line.category === "reload");
  assertEquals(
    warnings.map((line) => [line.level, line.text]),
    [
      ["OPENVPN_AUTH_OIDC_HTTP_SECRET_FILE", "http.secret_file"],
      ["OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET", "oidc.client_secret"],
      ["OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS", "authorization.allowed_groups"],
    ].map(([variable, key]) => [
      "warning",
      `${variable} overrides ${key}: read at start only; a change needs a restart`,
    ]),
  );
  const values = [...Object.values(env).filter((value) => value !== "/x.toml"), HTTP_SECRET];
  for (const line of lines) {
    for (const value of values) {
      assert(!JSON.stringify(line).includes(value), `${line.text} shows ${value}`);
    }
  }
});

Deno.test("--probe without check-config exits 2 and never starts the service", async () => {
  let started = false;
  const t = io({ "/x.toml": VALID }, {
    startService: () => {
      started = true;
      return Promise.reject(new Error("not expected"));
    },
  });
  assertEquals(await runCli(["--probe", "--config", "/x.toml"], t.cli), EXIT_USAGE);
  assertStringIncludes(t.err(), "--probe goes with check-config");
  assertEquals(started, false);
});

Deno.test("OPENVPN_AUTH_OIDC_CONFIG names the config file when --config is not given", async () => {
  const t = io({ "/srv/vpn.toml": VALID }, { env: { OPENVPN_AUTH_OIDC_CONFIG: "/srv/vpn.toml" } });
  assertEquals(await runCli(["check-config"], t.cli), EXIT_OK, t.err());
  assertStringIncludes(t.out(), "# /srv/vpn.toml: valid");
});
