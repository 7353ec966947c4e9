/**
 * The arm64 binary (`make build-bun-arm64`, dist/openvpn-auth-oidc-arm64) for Raspberry Pis, ARM
 * servers and the OpenVPN appliance images built for them: an AArch64 executable that answers
 * --version and check-config, serves /healthz and answers a CONNECT, run here by qemu-aarch64
 * (user mode, from Debian's qemu-user) with the arm64 C library of Debian's libc6-arm64-cross.
 * A skipped test fails CI (scripts/stage.sh), where make system-deps installs both.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ELF_MACHINE, elfHeader } from "../support/elf.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import { FakeManagementServer } from "../support/fake_management_server.ts";
import {
  ARM64_BINARY,
  BINARY,
  emulated,
  killProcess,
  runBinary,
  spawnBinary,
  waitForHealthz,
  writeLocalConfig,
} from "../support/service_process.ts";
import { run } from "../e2e/lib/command.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";
import { ALLOCATOR_ENV, PURGE_DELAY_VARIABLE } from "../../src/allocator_restart.ts";
import { VERSION } from "../../src/version.ts";

const QEMU = "qemu-aarch64";
/** Where libc6-arm64-cross puts the arm64 loader and C library the binary links against. */
const ARM64_LIBS = "/usr/aarch64-linux-gnu";

const skip = announceSkip(
  "the arm64 binary under qemu-aarch64",
  findExecutable(QEMU) === undefined
    ? `missing ${QEMU} (apt-get install qemu-user)`
    : !existsSync(`${ARM64_LIBS}/lib/ld-linux-aarch64.so.1`)
    ? `missing ${ARM64_LIBS}/lib/ld-linux-aarch64.so.1 (apt-get install libc6-arm64-cross)`
    : undefined,
);

/**
 * The oldest CPU README names: the Cortex-A53 (ARMv8.0-A, without the extensions of later cores)
 * of the Raspberry Pi 3 and many ARM boards; qemu's default CPU has all of them.
 * The emulator finds the arm64 libraries through the environment rather than its -L option, so
 * that a binary the kernel starts through binfmt_misc (the allocator restart, where qemu-aarch64
 * is registered there) finds them too.
 */
const ON_ARM64 = emulated(
  ["env", `QEMU_LD_PREFIX=${ARM64_LIBS}`, QEMU, "-cpu", "cortex-a53"],
  ARM64_BINARY,
);

/**
 * With the allocator setting given, the binary does not start itself again (allocator_restart.ts):
 * the tests below see the service, not the restart, which has its own test.
 */
const SETTLED_ENV = { ...ALLOCATOR_ENV };

const MEMORY_STORE = `[sessions]
backend = "memory"
[control]
socket = ""
[log]
level = "error"
`;

/**
 * Whether the kernel runs AArch64 executables itself through a binfmt_misc entry (an emulator
 * registered for them, as Debian's qemu-user-binfmt does): then an execve of the arm64 binary
 * from inside qemu-aarch64 succeeds.
 */
function aarch64Registered(): boolean {
  const dir = "/proc/sys/fs/binfmt_misc";
  // The e_ident and e_machine of a little-endian 64-bit AArch64 executable, as binfmt_misc
  // prints a registered magic.
  const magic = "magic 7f454c460201010000000000000000000200b700";
  try {
    return readdirSync(dir).some((name) => {
      if (name === "register" || name === "status") return false;
      const entry = readFileSync(join(dir, name), "utf8");
      return entry.startsWith("enabled") && entry.includes(magic);
    });
  } catch {
    return false;
  }
}

Deno.test("the arm64 binary is a 64-bit little-endian AArch64 ELF executable", () => {
  assert(existsSync(ARM64_BINARY), `${ARM64_BINARY} is missing: run make build-bun-arm64`);
  assertEquals(elfHeader(ARM64_BINARY), {
    bits64: true,
    littleEndian: true,
    machine: ELF_MACHINE.aarch64,
  });
});

/** The Bun releases a compiled binary's runtime names: "1.4.5+a7733435c" (version+commit). */
async function bunReleases(binary: string): Promise<string[]> {
  const found = await run("grep", ["-aoE", "[0-9]+\\.[0-9]+\\.[0-9]+\\+[0-9a-f]{9}", binary], {
    allowFailure: true,
  });
  return [...new Set(found.stdout.split("\n").filter((line) => line !== ""))].sort();
}

Deno.test("the arm64 binary embeds the Bun release of the x86-64 one", async () => {
  // The bundle comes from the bun that compiles it, the runtime from the arm64 package: the
  // Makefile pins both to BUN_VERSION.
  const x86 = await bunReleases(BINARY);
  assertEquals(x86.length, 1, `${BINARY}: ${x86.join(" ")}`);
  assertEquals(await bunReleases(ARM64_BINARY), x86);
});

Deno.test({
  name: "the arm64 binary answers --version, and check-config with 0 for a valid config and 2 " +
    "for an invalid one",
  ignore: skip !== undefined,
  async fn() {
    const version = await runBinary(["--version"], SETTLED_ENV, undefined, ON_ARM64);
    assertEquals([version.code, version.signal], [0, null], version.stderr);
    assertEquals(version.stdout, `openvpn-auth-oidc ${VERSION}\n`);
    const { dir, config } = await writeLocalConfig("arm64-test-", () => ({ rest: MEMORY_STORE }));
    try {
      const valid = await runBinary(
        ["check-config", "--config", config],
        SETTLED_ENV,
        dir,
        ON_ARM64,
      );
      assertEquals(valid.code, 0, valid.stderr);
      assertStringIncludes(valid.stdout, `# ${config}: valid`);
      const bad = join(dir, "bad.toml");
      writeFileSync(bad, '[openvpn]\nmanagment = "x"\n');
      const invalid = await runBinary(
        ["check-config", "--config", bad],
        SETTLED_ENV,
        dir,
        ON_ARM64,
      );
      assertEquals(invalid.code, 2, invalid.stderr);
      assertStringIncludes(invalid.stderr, 'Unknown key (did you mean "management"?)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "the arm64 binary serves /healthz, answers a CONNECT with client-pending-auth and stops " +
    "on SIGTERM",
  ignore: skip !== undefined,
  async fn() {
    const openvpn = await FakeManagementServer.start({ transport: "unix" });
    const address = openvpn.address;
    const { dir, port, config } = await writeLocalConfig("arm64-test-", () => ({
      management: `unix://${address.kind === "unix" ? address.path : ""}`,
      rest: MEMORY_STORE,
    }));
    const child = spawnBinary(config, SETTLED_ENV, ON_ARM64);
    try {
      const health = await waitForHealthz(port, undefined, child);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      await openvpn.waitForLine("status 3", 30_000);
      openvpn.sendClientBlock("CONNECT", 0, 1, clientEnv({}));
      const pending = await openvpn.waitForLine(
        (line) => line.startsWith("client-pending-auth 0 1 "),
        30_000,
      );
      assertStringIncludes(pending, `"WEB_AUTH::http://127.0.0.1:${port}/login/`);
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
    } finally {
      await killProcess(child);
      await openvpn.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "the arm64 binary under qemu-aarch64 runs on, saying why in one line, when its " +
    "allocator restart cannot execve it (no binfmt_misc entry for AArch64)",
  ignore: skip !== undefined,
  async fn() {
    // qemu-user leaves an execve to the kernel, which cannot run an AArch64 executable on this
    // CPU: ENOEXEC. Where qemu-aarch64 is registered in binfmt_misc, the kernel starts the
    // restarted binary through it instead, as a real arm64 host runs it directly.
    const restarts = aarch64Registered();
    const result = await runBinary(["--version"], {}, undefined, ON_ARM64);
    assertEquals([result.code, result.signal], [0, null], result.stderr);
    assertEquals(result.stdout, `openvpn-auth-oidc ${VERSION}\n`);
    if (restarts) {
      assertEquals(result.stderr, "");
      return;
    }
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    assertEquals(lines.length, 1, result.stderr);
    assertStringIncludes(lines[0]!, `running without ${PURGE_DELAY_VARIABLE}=-1`);
    assertStringIncludes(lines[0]!, "Exec format error");
  },
});
