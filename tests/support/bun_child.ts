/**
 * Runs a test's child script under Bun, the runtime the released binary is built with (the
 * `BUN` the Makefile exports, else `bun` on PATH), and returns the JSON line it printed. For
 * what only Bun's engine shows, such as a Map key keeping the string it was sliced from alive.
 */
import { assert } from "./assert.ts";

export async function runUnderBun(script: URL, args: readonly string[]): Promise<unknown> {
  const output = await new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: [script.pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, `Bun child failed: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
