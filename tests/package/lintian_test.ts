/**
 * The .debs as Debian's own checker sees them: lintian finds no error or warning that
 * packaging/deb/lintian-overrides does not give a reason for, in the amd64 package and the arm64
 * one (lintian reads a package of another architecture as well), and the libc6 dependency covers
 * what the binary needs. Needs lintian (make system-deps installs it; it brings dpkg-shlibdeps
 * and readelf), not root.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { BRIDGE_BINARY } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";
import { ARM64_BINARY } from "../support/service_process.ts";
import { type Deb, debPath, DEBS, debSkipReason } from "./_deb.ts";

async function skipReason(deb?: Deb): Promise<string | undefined> {
  const missing = ["lintian", "dpkg-shlibdeps", "readelf"].filter((name) => !findExecutable(name));
  if (missing.length > 0) return `missing ${missing.join(", ")} (make system-deps)`;
  return await debSkipReason(deb);
}

const skip = announceSkip("the lintian tests", await skipReason());
const deb = await debPath();

/** The relations of a Depends field: "libc6 (>= 2.34), adduser" -> both. */
function relations(depends: string): string[] {
  return depends.split(",").map((relation) => relation.trim()).filter((r) => r !== "");
}

for (const target of DEBS) {
  const skipThis = announceSkip(`lintian on the ${target.arch} .deb`, await skipReason(target));
  Deno.test({
    name: `lintian finds no error or warning in the ${target.arch} .deb that its overrides do ` +
      "not explain",
    ignore: skipThis !== undefined,
    async fn() {
      // --pedantic and info tags are listed for whoever reads a failure; only errors and
      // warnings (among them an override that no longer matches its tag) fail.
      const result = await run(
        "lintian",
        ["--fail-on", "error,warning", "--display-info", "--pedantic", await debPath(target.arch)],
        { allowFailure: true },
      );
      assertEquals(result.code, 0, `lintian:\n${result.stdout}${result.stderr}`);
    },
  });
}

Deno.test({
  name: "the .deb depends on the shared libraries dpkg-shlibdeps derives from the binary " +
    "(libc6 and its version)",
  ignore: skip !== undefined,
  async fn() {
    // dpkg-shlibdeps reads the package's name from debian/control in its working directory.
    const dir = await Deno.makeTempDir({ prefix: "shlibdeps-" });
    try {
      await Deno.mkdir(`${dir}/debian`);
      await Deno.writeTextFile(
        `${dir}/debian/control`,
        "Source: shlibdeps\n\nPackage: shlibdeps\nArchitecture: any\n",
      );
      const derived = await run("dpkg-shlibdeps", ["-O", BRIDGE_BINARY], { cwd: dir });
      const computed = relations(/^shlibs:Depends=(.*)$/m.exec(derived.stdout)?.[1] ?? "");
      assert(computed.some((r) => r.startsWith("libc6 ")), derived.stdout + derived.stderr);
      const declared = relations((await run("dpkg-deb", ["--field", deb, "Depends"])).stdout);
      // packaging/deb/control.in names them by hand (the build stays dpkg-deb only).
      for (const relation of computed) {
        assert(declared.includes(relation), `Depends lacks ${relation}: ${declared.join(", ")}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A glibc version as one comparable number: "2.34" -> 2034. */
function glibcRank(version: string): number {
  const [major, minor] = version.split(".").map(Number);
  return major! * 1000 + (minor ?? 0);
}

const arm64 = DEBS.find((target) => target.arch === "arm64")!;
const skipArm64 = announceSkip("the arm64 libc6 test", await skipReason(arm64));

Deno.test({
  name: "the arm64 .deb's libc6 dependency asks for at least the newest glibc version its " +
    "binary names",
  ignore: skipArm64 !== undefined,
  async fn() {
    // dpkg-shlibdeps would need the arm64 libc6's own package (a foreign architecture added to
    // dpkg); the binary's version needs say the same for glibc: the newest GLIBC_x.y among them
    // is the oldest libc6 it runs with.
    const needs = (await run("readelf", ["--version-info", "--wide", ARM64_BINARY])).stdout;
    const versions = [...needs.matchAll(/\bGLIBC_(\d+\.\d+)\b/g)].map((match) => match[1]!);
    assert(versions.length > 0, needs);
    const newest = versions.reduce((a, b) => glibcRank(a) >= glibcRank(b) ? a : b);
    const depends = (await run("dpkg-deb", ["--field", await debPath(arm64.arch), "Depends"]))
      .stdout;
    const declared = /\blibc6 \(>= (\d+\.\d+)\)/.exec(depends)?.[1];
    assert(declared !== undefined, depends);
    assert(
      glibcRank(declared) >= glibcRank(newest),
      `the binary needs GLIBC_${newest}, the package asks for libc6 ${declared}`,
    );
  },
});
