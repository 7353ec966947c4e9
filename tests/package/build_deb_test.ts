/**
 * scripts/build-deb.sh packs only a binary of the architecture it is asked for: an arm64 binary
 * in the amd64 package (make build-bun on an arm64 host writes one), or the other way round, would
 * install and never start. Run on a copy of the script in a scratch tree with a 20-byte ELF
 * header standing in for the binary, so nothing is built. Needs bash only.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { ELF_MACHINE } from "../support/elf.ts";
import { REPO_ROOT } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { PACKAGE } from "./_deb.ts";

/** The first 20 bytes of a little-endian 64-bit ELF executable for `machine`. */
function elfHeaderBytes(machine: number): Uint8Array {
  const bytes = new Uint8Array(20);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  bytes[16] = 2; // ET_EXEC
  new DataView(bytes.buffer).setUint16(18, machine, true);
  return bytes;
}

/** Runs build-deb.sh `args` in a scratch tree whose dist/ holds `binaries` (name -> bytes). */
async function buildDeb(args: readonly string[], binaries: Record<string, Uint8Array>) {
  const tree = mkdtempSync(join(tmpdir(), "build-deb-test-"));
  try {
    mkdirSync(join(tree, "scripts"));
    mkdirSync(join(tree, "dist"));
    copyFileSync(`${REPO_ROOT}scripts/build-deb.sh`, join(tree, "scripts", "build-deb.sh"));
    for (const [name, bytes] of Object.entries(binaries)) {
      writeFileSync(join(tree, "dist", name), bytes);
      chmodSync(join(tree, "dist", name), 0o755);
    }
    return await run("bash", [join(tree, "scripts", "build-deb.sh"), ...args], {
      allowFailure: true,
    });
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

Deno.test("build-deb.sh arm64 refuses an x86-64 binary", async () => {
  const result = await buildDeb(["arm64"], {
    [`${PACKAGE}-arm64`]: elfHeaderBytes(ELF_MACHINE.x86_64),
  });
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stderr, `dist/${PACKAGE}-arm64 is not an arm64 binary`);
  assertStringIncludes(result.stderr, "make build-bun-arm64");
});

Deno.test("build-deb.sh (amd64 by default) refuses an AArch64 binary", async () => {
  const result = await buildDeb([], { [PACKAGE]: elfHeaderBytes(ELF_MACHINE.aarch64) });
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stderr, `dist/${PACKAGE} is not an amd64 binary`);
});

Deno.test("build-deb.sh refuses a file that is not an ELF executable, short or not", async () => {
  for (const script of ["#!/bin/sh\ntrue\n", "#!/bin/sh\necho not an executable\n"]) {
    const result = await buildDeb(["arm64"], {
      [`${PACKAGE}-arm64`]: new TextEncoder().encode(script),
    });
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "is not an arm64 binary");
  }
});

Deno.test("build-deb.sh names the architectures it builds for when given another", async () => {
  const result = await buildDeb(["i386"], {});
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "Unknown architecture 'i386': amd64 or arm64");
});
