/**
 * The compiled binary on an x86-64 CPU without AVX2, as many OpenVPN appliances and small
 * firewall boxes have (Atom C2000, Celeron J1900, AMD GX, Xeons before Haswell). `bun build
 * --compile` embeds the Bun runtime that runs it: Bun 1.4.5's x64 build targets Nehalem
 * (x86-64-v2: SSE4.2, POPCNT) and picks its AVX2 code at run time from CPUID. A Bun, or a build
 * flag, that needed AVX2 again would make the binary die with SIGILL on those boxes and nowhere
 * else. qemu-x86_64 (user mode, no root) runs the binary with a chosen CPU model's instruction
 * set and CPUID, and stops it with SIGILL at the first newer instruction.
 */
import { readlinkSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import {
  BINARY,
  type BinaryCommand,
  emulated,
  fileStoreToml,
  killProcess,
  runBinary,
  spawnBinary,
  waitForHealthz,
  writeLocalConfig,
} from "../support/service_process.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";
import { ALLOCATOR_ENV } from "../../src/allocator_restart.ts";
import { VERSION } from "../../src/version.ts";

const QEMU = "qemu-x86_64";
const skip = announceSkip(
  "the binary on CPUs without AVX2",
  Deno.build.arch !== "x86_64"
    ? "the binary is not an x86-64 one here"
    : findExecutable(QEMU) === undefined
    ? `missing ${QEMU} (apt-get install qemu-user)`
    : undefined,
);

/** The binary on an emulated CPU `model`. */
function onCpu(model: string): BinaryCommand {
  return emulated([QEMU, "-cpu", model], BINARY);
}

/** Intel's first x86-64-v2 CPU: SSE4.2 and POPCNT, no AVX, no AVX2. */
const NEHALEM = onCpu("Nehalem");

/**
 * The binary starts itself again unless the allocator setting is in its environment
 * (allocator_restart.ts), and qemu-user leaves that execve to the kernel, which would run the
 * restarted binary on the real CPU: with the setting given, it stays in the emulator.
 */
const EMULATED_ENV = { ...ALLOCATOR_ENV };

Deno.test({
  name: "the compiled binary answers --version and check-config on a Nehalem (no AVX, no AVX2)",
  ignore: skip !== undefined,
  async fn() {
    const version = await runBinary(["--version"], EMULATED_ENV, undefined, NEHALEM);
    assertEquals([version.code, version.signal], [0, null], version.stderr);
    assertEquals(version.stdout, `openvpn-auth-oidc ${VERSION}\n`);
    const { dir, config } = await writeLocalConfig("cpu-baseline-test-", (dir) => ({
      rest: fileStoreToml(dir),
    }));
    try {
      const check = await runBinary(
        ["check-config", "--config", config],
        EMULATED_ENV,
        undefined,
        NEHALEM,
      );
      assertEquals([check.code, check.signal], [0, null], check.stderr);
      assertStringIncludes(check.stdout, `# ${config}: valid`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "the compiled binary serves /healthz and stops on SIGTERM on a Nehalem (no AVX, no AVX2)",
  ignore: skip !== undefined,
  async fn() {
    const { dir, port, config } = await writeLocalConfig("cpu-baseline-test-", (dir) => ({
      rest: fileStoreToml(dir),
    }));
    const child = spawnBinary(config, EMULATED_ENV, NEHALEM);
    try {
      const health = await waitForHealthz(port, undefined, child);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      // Still the emulator's process: the service never left it for the real CPU.
      assertEquals(basename(readlinkSync(`/proc/${child.pid}/exe`)), QEMU);
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
    } finally {
      await killProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "the compiled binary dies with SIGILL on a Penryn (no SSE4.2): the emulation holds a " +
    "CPU model to its instructions",
  ignore: skip !== undefined,
  async fn() {
    // The control for the tests above: were qemu to run every instruction whatever the model,
    // they would pass for a binary that needs AVX2. When a Bun runs on CPUs before Nehalem,
    // this fails: lower the floor the README gives, and pick an older model here.
    const result = await runBinary(["--version"], EMULATED_ENV, undefined, onCpu("Penryn"));
    assertEquals(result.signal, "SIGILL", `${result.code} ${result.stdout}${result.stderr}`);
  },
});
