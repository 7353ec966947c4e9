/**
 * The .deb as Debian's own checker sees it: lintian finds no error or warning that
 * packaging/deb/lintian-overrides does not give a reason for, and the libc6 dependency is the one
 * dpkg-shlibdeps derives from the binary. Needs lintian (make system-deps installs it; it brings
 * dpkg-shlibdeps), not root.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { BRIDGE_BINARY } from "../e2e/lib/bridge_process.ts";
import { run } from "../e2e/lib/command.ts";
import { announceSkip, findExecutable } from "../e2e/lib/requirements.ts";
import { debPath, debSkipReason } from "./_deb.ts";

async function skipReason(): Promise<string | undefined> {
  const missing = ["lintian", "dpkg-shlibdeps"].filter((name) => !findExecutable(name));
  if (missing.length > 0) return `missing ${missing.join(", ")} (make system-deps)`;
  return await debSkipReason();
}

const skip = announceSkip("the lintian tests", await skipReason());
const deb = await debPath();

/** The relations of a Depends field: "libc6 (>= 2.34), adduser" -> both. */
function relations(depends: string): string[] {
  return depends.split(",").map((relation) => relation.trim()).filter((r) => r !== "");
}

Deno.test({
  name: "lintian finds no error or warning in the .deb that its overrides do not explain",
  ignore: skip !== undefined,
  async fn() {
    // --pedantic and info tags are listed for whoever reads a failure; only errors and warnings
    // (among them an override that no longer matches its tag) fail.
    const result = await run(
      "lintian",
      ["--fail-on", "error,warning", "--display-info", "--pedantic", deb],
      { allowFailure: true },
    );
    assertEquals(result.code, 0, `lintian:\n${result.stdout}${result.stderr}`);
  },
});

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
