/**
 * An upgrade's config check (the installed postinst run as `configure OLD` next to a stand-in
 * for the running service): which config it judges, read from the program's own options as its
 * parser reads them, or, behind a wrapper it cannot read, the default with a notice; as whom,
 * when the service runs as root; and what the admin sees of its verdict: the warnings of a pass
 * too, as written. Needs root; installs and purges the package.
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "../support/assert.ts";
import { join } from "node:path";
import { INSTALLED_BINARY, SERVICE_USER } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";
import {
  type Account,
  account,
  assertNotInstalled,
  CONFFILE,
  debPath,
  debSkipReason,
  INSTALL_LOCK_FILE,
  PACKAGE,
} from "./_deb.ts";
import { type UpgradeOutcome, upgradeWithRunningService } from "./_upgrade.ts";

async function skipReason(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "needs root (installs the package)";
  const missing = ["setpriv", "unshare", "runuser", "adduser", "python3", "perl"]
    .filter((name) => findExecutable(name) === undefined);
  if (missing.length > 0) return `missing ${missing.join(", ")} (make system-deps)`;
  return await debSkipReason();
}

const skip = announceSkip("the package upgrade test", await skipReason());
/** A config the new version refuses (a misspelt key). */
const BROKEN_CONFIG = '[openvpn]\nmanagment = "x"\n';

/** What postinst prints before the warnings of a check that passed. */
const WARNINGS_HEADER = `${PACKAGE}: this version accepts the service's config, with warnings:`;

/** Writes `text` to `path` as the service's group may read it, with `mode`'s other bits. */
async function writeConfig(path: string, text: string, gid: number, mode: number) {
  await Deno.writeTextFile(path, text);
  await Deno.chown(path, 0, gid);
  await Deno.chmod(path, mode);
}

function restarts(outcome: UpgradeOutcome): number {
  return outcome.calls.filter((call) => call.includes("try-restart")).length;
}

Deno.test({
  name: "an upgrade checks the config the running program was given (the last of --config X, " +
    "--config=X, -c X, -cX), the default behind a shell wrapper (saying so), and a root " +
    "service as root",
  ignore: skip !== undefined,
  async fn(t) {
    using lock = await Deno.open(INSTALL_LOCK_FILE, { create: true, write: true });
    await lock.lock(true);
    await assertNotInstalled();
    const userExisted = (await account(SERVICE_USER)) !== undefined;
    const work = await Deno.makeTempDir({ prefix: "oao-upgrade-" });
    try {
      await run("dpkg", ["--install", await debPath()]);
      const user: Account | undefined = await account(SERVICE_USER);
      assert(user !== undefined, "no service user");
      // The installed config as an admin edits it: its placeholder client secret is refused.
      const shipped = await Deno.readTextFile(CONFFILE);
      const good = shipped.replace('client_secret = "change-me"', 'client_secret = "from-the-idp"');
      assert(good !== shipped, "the installed config has no placeholder client secret to edit");
      await Deno.writeTextFile(CONFFILE, good);
      // The config the service runs with, where the default path holds one it refuses.
      const running = join(work, "running.toml");
      await writeConfig(running, good, user.gid, 0o640);
      const upgrade = (args: string[], program = INSTALLED_BINARY) =>
        upgradeWithRunningService(work, { uid: user.uid, gid: user.gid, env: {}, program, args });

      await t.step(
        "the program's own options count, the last one given, as src/cli.ts reads them",
        async () => {
          await Deno.writeTextFile(CONFFILE, BROKEN_CONFIG);
          try {
            for (
              const args of [
                ["run", "--config", CONFFILE, `-c${running}`],
                [`--config=${running}`],
                ["-c", running],
              ]
            ) {
              const outcome = await upgrade(args);
              assertEquals(restarts(outcome), 1, `${args.join(" ")}: ${outcome.stderr}`);
            }
            const refused = await upgrade(["--config", running, "-c", CONFFILE]);
            assertEquals(restarts(refused), 0, refused.stderr);
            assertMatch(refused.stderr, /not restarted/);
          } finally {
            await Deno.writeTextFile(CONFFILE, good);
          }
        },
      );

      await t.step(
        "a config the new version accepts with warnings: they are shown under the package's " +
          "name, and the service is restarted; a clean pass shows nothing",
        async () => {
          const clean = await upgrade(["--config", running]);
          assertEquals(restarts(clean), 1, clean.stderr);
          assertEquals(clean.stderr, "");
          // Other users can change it: check-config passes it, with a warning.
          const warned = join(work, "warned.toml");
          await writeConfig(warned, good, user.gid, 0o642);
          const outcome = await upgrade(["--config", warned]);
          assertEquals(restarts(outcome), 1, outcome.stderr);
          assertStringIncludes(
            outcome.stderr,
            `${WARNINGS_HEADER}\nwarning: ${warned}: Can be changed by other users ` +
              `(mode 0642), who could rewrite the access rules: run chmod o-w ${warned}\n`,
          );
          assertNotMatch(outcome.stderr, /not restarted/);
        },
      );

      await t.step(
        "the check's output is shown as written: a backslash in a path (\\c, an escape to " +
          "dash's echo) cuts nothing, in warnings or in a refusal",
        async () => {
          const odd = join(work, "odd\\c.toml");
          await writeConfig(odd, good, user.gid, 0o642);
          const warned = await upgrade([`--config=${odd}`]);
          assertEquals(restarts(warned), 1, warned.stderr);
          assertStringIncludes(warned.stderr, `run chmod o-w ${odd}\n`);
          await writeConfig(odd, BROKEN_CONFIG, user.gid, 0o640);
          const refused = await upgrade([`--config=${odd}`]);
          assertEquals(restarts(refused), 0, refused.stderr);
          assertStringIncludes(refused.stderr, `Invalid configuration in ${odd}:\n  - `);
          assertStringIncludes(refused.stderr, "openvpn.managment (line 2): Unknown key");
        },
      );

      await t.step(
        "behind ExecStart=/bin/sh -c '...' the default config is checked, with a notice, " +
          "never the shell's -c argument",
        async () => {
          const wrapped = ["-c", `${INSTALLED_BINARY} --config ${running}; echo stopped`];
          const outcome = await upgrade(wrapped, "/bin/sh");
          assertEquals(restarts(outcome), 1, outcome.stderr);
          assertMatch(outcome.stderr, /cannot tell which --config .*checking the config/);
          // Failing closed on the default's verdict: a refused default is no restart.
          await Deno.writeTextFile(CONFFILE, BROKEN_CONFIG);
          try {
            const refused = await upgrade(wrapped, "/bin/sh");
            assertEquals(restarts(refused), 0, refused.stderr);
            assertMatch(refused.stderr, /not restarted/);
          } finally {
            await Deno.writeTextFile(CONFFILE, good);
          }
        },
      );

      await t.step(
        "a service run as root (a drop-in's User=root) is checked as root, its user taken " +
          "from the kernel, not from the unit",
        async () => {
          const outcome = await upgradeWithRunningService(work, {
            uid: 0,
            gid: 0,
            env: {},
            args: [],
          });
          assert(outcome.check !== undefined, `the check did not run: ${outcome.stderr}`);
          assertEquals([outcome.check.uid, outcome.check.groups], [0, [0]]);
          assertEquals(restarts(outcome), 1, outcome.stderr);
          // No User= is read from systemd: none could reach a shell.
          assertEquals(outcome.calls.filter((call) => call.startsWith("systemctl show")), [
            `systemctl show --property MainPID --value ${PACKAGE}.service`,
          ]);
        },
      );
    } finally {
      await run("dpkg", ["--purge", PACKAGE], { allowFailure: true });
      if (!userExisted) {
        await run("deluser", ["--system", "--quiet", SERVICE_USER], { allowFailure: true });
      }
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
