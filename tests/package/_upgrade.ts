/**
 * The installed postinst run as an upgrade does (`configure OLD`) next to a stand-in for the
 * running service, and what its config check saw: the check's user, groups and environment, and
 * every command line that showed one of the service's environment values.
 */

import { join } from "node:path";
import { INSTALLED_BINARY } from "../e2e/lib/bridge_process.ts";
import { pollUntil } from "../e2e/lib/wait.ts";
import { assertEquals } from "../support/assert.ts";
import { PACKAGE } from "./_deb.ts";

/** The service as systemd would start it from its unit. */
export interface StandIn {
  readonly uid: number;
  readonly gid: number;
  /** SupplementaryGroups=, beyond the primary group that systemd's initgroups() gives. */
  readonly extraGroups?: readonly number[];
  /**
   * Environment=, EnvironmentFile=. Every value counts as a secret that no command line may
   * show, so each must be distinctive (a value such as "1" is in many command lines).
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * What its command line shows as the program (argv[0]): the unit's ExecStart= binary unless
   * given, or a wrapper such as /bin/sh. The stand-in script's path comes next (a positional
   * argument, as `run` is), then `args`.
   */
  readonly program?: string;
  readonly args: readonly string[];
}

/** What the check-config that postinst ran saw, taken as it started. */
export interface CheckSeen {
  readonly uid: number;
  readonly groups: number[];
  /** Names of its environment variables, sorted. */
  readonly envNames: string[];
}

export interface UpgradeOutcome {
  readonly stderr: string;
  /** Calls of the stub systemctl and deb-systemd-*. */
  readonly calls: string[];
  /** Undefined when postinst ran no check with the service's environment. */
  readonly check: CheckSeen | undefined;
  /** Command lines (NULs as spaces) that showed a value of the service's environment. */
  readonly leaks: string[];
}

/**
 * Runs the installed postinst on a host where systemd runs, in a mount namespace of its own (a
 * fresh /run with /run/systemd/system), with systemctl and deb-systemd-* replaced by stubs that
 * log their calls. The stub systemctl names the stand-in as the service's MainPID. In the
 * namespace the installed binary is a wrapper that records what the check runs as and every
 * process's command line at that moment, then runs the real binary; a watcher reads every
 * command line on this host as long as postinst runs, for the steps before it (pipes, `sh -c`,
 * `env VAR=...`) that are gone by then.
 */
export async function upgradeWithRunningService(
  work: string,
  service: StandIn,
): Promise<UpgradeOutcome> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "upgrade-" });
  // The check runs as the service's user: it enters here, runs the wrapper, writes its record.
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(work, 0o711);
  const stubs = join(dir, "stubs");
  const log = join(dir, "stub-calls.log");
  await Deno.mkdir(stubs);
  await Deno.writeTextFile(log, "");
  const stub = (answer: string) =>
    `#!/bin/sh\necho "$(basename "$0") $*" >>${log}\n${answer}\nexit 0\n`;
  await Deno.writeTextFile(
    join(stubs, "systemctl"),
    stub('case "$*" in *MainPID*) echo "$STUB_MAIN_PID" ;; esac'),
  );
  await Deno.writeTextFile(join(stubs, "deb-systemd-invoke"), stub(""));
  await Deno.writeTextFile(join(stubs, "deb-systemd-helper"), stub(""));
  for (const name of ["systemctl", "deb-systemd-invoke", "deb-systemd-helper"]) {
    await Deno.chmod(join(stubs, name), 0o755);
  }

  const secrets = Object.values(service.env);
  const patterns = join(dir, "secrets");
  const record = join(dir, "check-seen");
  const realBinary = join(dir, "real-binary");
  const wrapper = join(dir, "check-wrapper");
  await Deno.writeTextFile(patterns, secrets.map((value) => `${value}\n`).join(""));
  await Deno.writeTextFile(record, "");
  await Deno.chown(record, service.uid, service.gid);
  await Deno.writeTextFile(realBinary, "");
  // The values come from a file: in grep's own command line they would be a leak.
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh
{
  echo "uid $(id -u)"
  echo "groups $(id -G)"
  echo "env $(grep -z -o '^[^=]*' "/proc/$$/environ" | tr '\\0' ' ')"
  for cmdline in /proc/[0-9]*/cmdline; do
    if grep -q -a -F -f '${patterns}' "$cmdline" 2>/dev/null; then
      echo "argv $(tr '\\0' ' ' <"$cmdline")"
    fi
  done
} >>'${record}'
exec '${realBinary}' "$@"
`,
  );
  await Deno.chmod(wrapper, 0o755);

  // A script, not `python3 -c`: its -c would be one more option in the command line postinst
  // reads. Perl's exec names the program: python3 runs, `program` shows.
  const sleeper = join(dir, "service_stand_in.py");
  await Deno.writeTextFile(sleeper, "import time\ntime.sleep(600)\n");
  const groups = [service.gid, ...service.extraGroups ?? []];
  const program = service.program ?? INSTALLED_BINARY;
  const standIn = new Deno.Command("setpriv", {
    args: [
      `--reuid=${service.uid}`,
      `--regid=${service.gid}`,
      `--groups=${groups.join(",")}`,
      "--",
      "/usr/bin/perl",
      "-e",
      'exec { shift @ARGV } @ARGV or die "cannot run python3: $!\\n"',
      "/usr/bin/python3",
      program,
      sleeper,
      ...service.args,
    ],
    env: { PATH: "/usr/bin:/bin", ...service.env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Until then postinst would read setpriv's or perl's command line and credentials.
    const shown = [program, sleeper, ...service.args].map((arg) => `${arg}\0`).join("");
    await pollUntil("the stand-in to show its command line", async () => {
      const cmdline = await Deno.readTextFile(`/proc/${standIn.pid}/cmdline`).catch(() => "");
      return cmdline === shown ? true : undefined;
    }, 10_000);
    const postinst = `/var/lib/dpkg/info/${PACKAGE}.postinst`;
    const running = new Deno.Command("unshare", {
      args: [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && " +
        'mount --bind "$1" "$2" && mount --bind "$3" "$1" && shift 3 && exec "$@"',
        "sh",
        INSTALLED_BINARY,
        realBinary,
        wrapper,
        postinst,
        "configure",
        "0.0.1",
      ],
      env: {
        PATH: `${stubs}:/usr/sbin:/usr/bin:/sbin:/bin`,
        STUB_MAIN_PID: String(standIn.pid),
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const watched = await watchCommandLines(secrets, running);
    const result = await running;
    const stderr = new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 0, stderr);
    const calls = (await Deno.readTextFile(log)).split("\n").filter((line) => line !== "");
    const seen = (await Deno.readTextFile(record)).split("\n");
    const field = (name: string) =>
      seen.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1).trim();
    const uid = field("uid");
    const check = uid === undefined ? undefined : {
      uid: Number(uid),
      groups: field("groups")!.split(" ").map(Number),
      envNames: field("env")!.split(" ").filter((name) => name !== "").sort(),
    };
    const leaks = [...new Set([...watched, ...seen.filter((line) => line.startsWith("argv "))])];
    return { stderr, calls, check, leaks };
  } finally {
    standIn.kill("SIGKILL");
    await standIn.status;
  }
}

/** Every command line on this host that shows one of `values`, read until `until` settles. */
async function watchCommandLines(
  values: readonly string[],
  until: Promise<unknown>,
): Promise<string[]> {
  const seen = new Set<string>();
  if (values.length === 0) return [];
  let settled = false;
  until.finally(() => settled = true).catch(() => {});
  while (!settled) {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      // A process that ended between the listing and the read has nothing to show.
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
      if (values.some((value) => cmdline.includes(value))) {
        seen.add(`argv ${cmdline.replaceAll("\0", " ")}`);
      }
    }
  }
  return [...seen];
}
