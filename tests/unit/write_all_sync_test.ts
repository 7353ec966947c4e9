/**
 * The CLI's stdout reaches a slow reader whole although the process exits right after writing,
 * on Deno and on Bun (whose process.stdout.write dropped all but the first 64 KiB at exit).
 */
import { assertEquals } from "../support/assert.ts";

const CHILD = new URL("./_write_all_sync_child.ts", import.meta.url).pathname;
const SIZE = 1024 * 1024;

async function readSlowly(command: string, args: string[]): Promise<number> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // The child fills the pipe and must wait for us, as for `| jq` still starting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let length = 0;
  for await (const chunk of child.stdout) length += chunk.byteLength;
  assertEquals((await child.status).code, 0);
  return length;
}

Deno.test("writeAllSync: 1 MiB written right before process.exit reaches a slow reader whole, on Deno", async () => {
  assertEquals(await readSlowly(Deno.execPath(), ["run", "-A", CHILD, String(SIZE)]), SIZE + 1);
});

Deno.test("writeAllSync: 1 MiB written right before process.exit reaches a slow reader whole, on Bun", async () => {
  assertEquals(await readSlowly(Deno.env.get("BUN") ?? "bun", [CHILD, String(SIZE)]), SIZE + 1);
});

Deno.test("writeAllSync: a reader that left ends the write quietly", async () => {
  const child = new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: [CHILD, String(SIZE)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stdout.cancel();
  const status = await child.status;
  const stderr = new TextDecoder().decode((await child.stderr.getReader().read()).value);
  assertEquals([status.code, stderr], [0, ""]);
});
