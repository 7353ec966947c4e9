import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { type CliIo, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, runCli } from "../../../src/cli.ts";
import { VERSION } from "../../../src/version.ts";

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

Deno.test("unknown commands, options and help topics exit 2 with a pointer to --help", async () => {
  for (const args of [["frobnicate"], ["--bogus"], ["help", "nope"], ["check-config", "extra"]]) {
    const t = io();
    assertEquals(await runCli(args, t.cli), EXIT_USAGE, args.join(" "));
    assertStringIncludes(t.err(), "--help");
  }
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

async function pollReloads(ready: () => boolean): Promise<void> {
  for (let turn = 0; turn < 100 && !ready(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
