/**
 * The test summary promised in the README: scripts/stage.sh reads Deno's closing line
 * ("ok | N passed | M failed", "| K ignored" when tests were skipped), scripts/summary.sh prints
 * "N passed, M failed, K skipped", and under CI=true a skipped test fails its stage. Also
 * scripts/install-system-deps.sh without root: it names the exact command instead of installing.
 */
import { assertEquals, assertMatch } from "../../support/assert.ts";

const SCRIPTS = new URL("../../../scripts/", import.meta.url).pathname;

async function sh(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    env: { CI: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, out: decode(result.stdout) + decode(result.stderr) };
}

/** A stage whose runner prints `line` and exits with `code`. */
function stage(summary: string, name: string, line: string, code = 0, ci = false) {
  return sh(
    [`${SCRIPTS}stage.sh`, name, "bash", "-c", `echo '${line}'; exit ${code}`],
    { SUMMARY: summary, ...(ci ? { CI: "true" } : {}) },
  );
}

Deno.test("stage.sh records passed, failed and skipped from Deno's closing line; summary.sh adds them up", async () => {
  const dir = await Deno.makeTempDir();
  const summary = `${dir}/summary.txt`;
  try {
    assertEquals(
      (await stage(summary, "unit", "ok | 12 passed (3 steps) | 0 failed (5ms)")).code,
      0,
    );
    assertEquals(
      (await stage(summary, "e2e", "FAILED | 3 passed | 1 failed | 19 ignored (9s)", 1)).code,
      1,
    );
    assertEquals((await stage(summary, "check", "no deno line here")).code, 0);
    assertEquals(await Deno.readTextFile(summary), "unit 12 0 0\ne2e 3 1 19\ncheck 1 0 0\n");
    const total = await sh([`${SCRIPTS}summary.sh`, "1"], { SUMMARY: summary });
    assertEquals(total.code, 1);
    assertEquals(total.out.trimEnd().split("\n").at(-1), "16 passed, 1 failed, 19 skipped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stage.sh under CI=true: a skipped test fails the stage; without CI it does not", async () => {
  const dir = await Deno.makeTempDir();
  const summary = `${dir}/summary.txt`;
  try {
    const line = "ok | 5 passed | 0 failed | 2 ignored (1s)";
    assertEquals((await stage(summary, "e2e", line)).code, 0);
    const ci = await stage(summary, "e2e", line, 0, true);
    assertEquals(ci.code, 1);
    assertMatch(ci.out, /CI=true: stage e2e skipped 2 test\(s\)/);
    assertEquals((await stage(summary, "unit", "ok | 5 passed | 0 failed (1s)", 0, true)).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "install-system-deps.sh without root prints the exact apt-get command and exits 1",
  async fn() {
    const empty = await Deno.makeTempDir();
    try {
      const command = ["/bin/bash", `${SCRIPTS}install-system-deps.sh`];
      // As root the script would install: run it as nobody then.
      const asUser = Deno.uid() === 0
        ? ["runuser", "-u", "nobody", "--", "env", `PATH=${empty}`, ...command]
        : ["env", `PATH=${empty}`, ...command];
      const result = await sh(asUser);
      assertEquals(result.code, 1, result.out);
      assertMatch(
        result.out,
        /Install them as root:\n {2}sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends [a-z0-9 .-]*\bchromium\b[a-z0-9 .-]*'/,
      );
      assertMatch(result.out, /\bredis-server\b/);
    } finally {
      await Deno.remove(empty, { recursive: true });
    }
  },
});
