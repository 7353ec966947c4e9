/**
 * Runs a test's child script under Bun, the runtime the released binary is built with (the
 * `BUN` the Makefile exports, else `bun` on PATH), and returns the JSON line it printed. For
 * what only Bun's engine shows, such as a Map key keeping the string it was sliced from alive.
 */
import { assert } from "./assert.ts";

/**
 * Longer than any child runs (the slowest, a stress test's, takes seconds): one that hangs is
 * killed and fails its test, instead of holding the CI stage until it is stopped after 30
 * minutes with every other result lost.
 */
const BUN_CHILD_LIMIT_MS = 300_000;

export async function runUnderBun(
  script: URL,
  args: readonly string[],
  limitMs = BUN_CHILD_LIMIT_MS,
): Promise<unknown> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: [script.pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(limitMs),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(
    !(output.signal === "SIGTERM" && performance.now() - started >= limitMs),
    `Bun child ${script.pathname} ran over ${limitMs} ms and was stopped: ${stderr}`,
  );
  assert(output.success, `Bun child failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
