/**
 * The .debs built by `make deb` and `make deb-arm64`: control fields, contents with modes and
 * owners, the binary of each architecture, the conffile, the hardened unit, and maintainer
 * scripts that parse. Needs dpkg-deb, not root.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { REPO_ROOT } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { announceSkip } from "../e2e/lib/requirements.ts";
import { VERSION } from "../../src/version.ts";
import {
  CONFFILE,
  debPath,
  DEBS,
  debSkipReason,
  PACKAGE,
  parseContents,
  parseUnitSection,
  readFromDeb,
  UNIT_PATH,
} from "./_deb.ts";

const skip = announceSkip("the .deb tests", await debSkipReason());
const UNIT_SOURCE = `${REPO_ROOT}packaging/deb/${PACKAGE}.service`;

/** The md5sum line's checksum of `path`. */
async function md5(path: string): Promise<string> {
  return (await run("md5sum", [path])).stdout.split(" ")[0]!;
}

for (const target of DEBS) {
  const { arch, binary } = target;
  const skipThis = announceSkip(`the ${arch} .deb tests`, await debSkipReason(target));
  const deb = await debPath(arch);

  Deno.test({
    name: `the ${arch} .deb's control fields name the package, the version in src/version.ts ` +
      `and ${arch}`,
    ignore: skipThis !== undefined,
    async fn() {
      const field = async (name: string) =>
        (await run("dpkg-deb", ["--field", deb, name])).stdout.trim();
      assertEquals(await field("Package"), PACKAGE);
      assertEquals(await field("Version"), VERSION);
      assertEquals(await field("Architecture"), arch);
      assertMatch(await field("Depends"), /\badduser\b/);
      // The unit's ExecReload runs /bin/kill, which minimal images lack (procps is not Essential).
      assertMatch(await field("Depends"), /\bprocps\b/);
      assertMatch(await field("Description"), /OpenID Connect/);
      assert(Number(await field("Installed-Size")) > 1000, "Installed-Size");
      const conffiles = (await run("dpkg-deb", ["--info", deb, "conffiles"])).stdout;
      assertEquals(conffiles.trim().split("\n"), [CONFFILE]);
    },
  });

  Deno.test({
    name: `the ${arch} .deb holds its binary, the unit, the sysusers file, the config (0640), ` +
      "the docs and the lintian overrides, all owned by root, and nothing else",
    ignore: skipThis !== undefined,
    async fn() {
      const entries = parseContents((await run("dpkg-deb", ["--contents", deb])).stdout);
      const files = new Map(
        [...entries].filter(([path]) => !path.endsWith("/")).map(([path, e]) => [path, e.mode]),
      );
      assertEquals(
        files,
        new Map([
          [`/usr/bin/${PACKAGE}`, "-rwxr-xr-x"],
          [UNIT_PATH, "-rw-r--r--"],
          [`/usr/lib/sysusers.d/${PACKAGE}.conf`, "-rw-r--r--"],
          [CONFFILE, "-rw-r-----"],
          [`/usr/share/doc/${PACKAGE}/README.md`, "-rw-r--r--"],
          [`/usr/share/doc/${PACKAGE}/copyright`, "-rw-r--r--"],
          [`/usr/share/doc/${PACKAGE}/changelog.gz`, "-rw-r--r--"],
          [`/usr/share/doc/${PACKAGE}/examples/server.toml`, "-rw-r--r--"],
          [`/usr/share/lintian/overrides/${PACKAGE}`, "-rw-r--r--"],
        ]),
      );
      for (const [path, entry] of entries) assertEquals(entry.owner, "root/root", path);
      // Every directory 0755, whatever the builder's umask was.
      for (const [path, entry] of entries) {
        if (path.endsWith("/")) assertEquals(entry.mode, "drwxr-xr-x", path);
      }
      // The binary of this architecture, byte for byte (the package's own checksums).
      const sums = (await run("dpkg-deb", ["--info", deb, "md5sums"])).stdout;
      assertMatch(sums, new RegExp(`^${await md5(binary)}  usr/bin/${PACKAGE}$`, "m"));
      const [conffile, unit] = await readFromDeb(deb, [CONFFILE, UNIT_PATH]);
      assertEquals(conffile, await Deno.readTextFile(`${REPO_ROOT}server.toml.example`));
      assertEquals(unit, await Deno.readTextFile(UNIT_SOURCE));
    },
  });
}

Deno.test({
  name: "the unit runs as the service user with the hardening settings, state and runtime " +
    "directories, reload by SIGHUP after check-config of the same file, restart on failure and " +
    "unprefixed lines filed as errors",
  ignore: skip !== undefined,
  async fn() {
    // The packaged copy equals this file (checked above).
    const service = parseUnitSection(await Deno.readTextFile(UNIT_SOURCE), "Service");
    const expected: Record<string, string | string[]> = {
      User: PACKAGE,
      Group: PACKAGE,
      ExecStart: `/usr/bin/${PACKAGE} --config ${CONFFILE}`,
      // A config the service would refuse fails `systemctl reload` and is never signalled: the
      // SIGHUP alone always succeeded. The file ExecStart names, and nothing on stdout, which
      // SyslogLevel= below would file as errors.
      ExecReload: [
        `/usr/bin/${PACKAGE} check-config --quiet --config ${CONFFILE}`,
        "/bin/kill -HUP $MAINPID",
      ],
      Restart: "on-failure",
      // Killed by a SIGHUP that came before it listens for reloads: restarted, not left down.
      RestartForceExitStatus: "SIGHUP",
      // A configuration error (exit 2) is not retried for ever.
      RestartPreventExitStatus: "2",
      StateDirectory: PACKAGE,
      RuntimeDirectory: PACKAGE,
      // The audit trail of a reconnect storm is more than journald's default burst.
      LogRateLimitIntervalSec: "0",
      // The service prefixes each line with its priority; a runtime's panic report, unprefixed,
      // was filed as info and `journalctl -p warning` missed the crash.
      SyslogLevel: "err",
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      ProtectProc: "invisible",
      PrivateMounts: "yes",
      CapabilityBoundingSet: "",
      RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6",
      SystemCallFilter: "@system-service",
      // JavaScriptCore then runs without its JIT (install_test.ts shows the service works).
      MemoryDenyWriteExecute: "yes",
    };
    for (const [key, value] of Object.entries(expected)) {
      assertEquals(service.get(key), typeof value === "string" ? [value] : value, key);
    }
    // journald takes each line's prefix: with it off, every line would be an error.
    assertEquals(service.get("SyslogLevelPrefix"), undefined);
  },
});

Deno.test("the unit starts after the network is online and after time-sync.target, which it leaves to the host to pull in", async () => {
  const unit = parseUnitSection(await Deno.readTextFile(UNIT_SOURCE), "Unit");
  assertEquals(unit.get("Wants"), ["network-online.target"]);
  // Session expiries are wall times: started before a host without a real-time clock has set
  // its clock, the step that follows stretches or ends every session. time-sync.target is
  // reached at once unless a service that waits for synchronisation is enabled (README).
  assertEquals(unit.get("After"), ["network-online.target openvpn.service time-sync.target"]);
});

Deno.test({
  name: "the maintainer scripts are valid sh",
  ignore: skip !== undefined,
  async fn() {
    for (const script of ["postinst", "prerm", "postrm"]) {
      const result = await run("sh", ["-n", `${REPO_ROOT}packaging/deb/${script}`], {
        allowFailure: true,
      });
      assertEquals(result.code, 0, `${script}: ${result.stderr}`);
    }
  },
});
