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
    // On CI the skipped tests count as failed in the total too, not only in the exit status.
    assertEquals(await Deno.readTextFile(summary), "e2e 5 0 2\ne2e 5 2 2\nunit 5 0 0\n");
    const plain = await sh([`${SCRIPTS}summary.sh`, "--plain", "1"], { SUMMARY: summary });
    assertEquals(plain.code, 1);
    assertEquals(plain.out, "15 passed, 2 failed\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stage.sh stops a stage that hangs and counts it failed, so the summary still comes", async () => {
  const dir = await Deno.makeTempDir();
  const summary = `${dir}/summary.txt`;
  try {
    const hung = await sh([`${SCRIPTS}stage.sh`, "e2e", "sleep", "30"], {
      SUMMARY: summary,
      STAGE_TIMEOUT: "1",
    });
    assertEquals(hung.code, 124);
    assertMatch(hung.out, /stage e2e: stopped after 1 s/);
    assertEquals(await Deno.readTextFile(summary), "e2e 0 1 0\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summary.sh --plain prints only the plain total, exactly 'N passed, M failed', and fails when anything did", async () => {
  const dir = await Deno.makeTempDir();
  const summary = `${dir}/summary.txt`;
  try {
    await Deno.writeTextFile(summary, "unit 10 0 0\nintegration 4 0 0\n");
    assertEquals(await sh([`${SCRIPTS}summary.sh`, "--plain", "0"], { SUMMARY: summary }), {
      code: 0,
      out: "14 passed, 0 failed\n",
    });
    // A failed target (make's status) with no failed test recorded still fails the total.
    assertEquals(await sh([`${SCRIPTS}summary.sh`, "--plain", "2"], { SUMMARY: summary }), {
      code: 1,
      out: "14 passed, 1 failed\n",
    });
    // No stage ran at all (a build broke first): no pass is claimed.
    assertEquals(await sh([`${SCRIPTS}summary.sh`, "--plain", "2"], { SUMMARY: `${dir}/none` }), {
      code: 1,
      out: "0 passed, 1 failed\n",
    });
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
