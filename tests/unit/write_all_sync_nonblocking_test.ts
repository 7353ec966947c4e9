/**
 * writeAllSync() to a non-blocking pipe a slow reader empties: each partial write goes on where
 * the last stopped, and a full pipe (EAGAIN) is waited for, not taken for the end. Bun makes
 * stdout non-blocking once `process.stdout` is touched (the logger, a library), so this is the
 * path `sessions list --json | jq` takes there.
 */
import { assertEquals } from "../support/assert.ts";
import { countingPattern } from "./_write_all_sync_nonblocking_child.ts";

const CHILD = new URL("./_write_all_sync_nonblocking_child.ts", import.meta.url).pathname;
const SIZE = 1024 * 1024;

Deno.test("writeAllSync: 1 MiB to a non-blocking pipe reaches a slow reader whole and in order, on Bun", async () => {
  const child = new Deno.Command(Deno.env.get("BUN") ?? "bun", {
    args: [CHILD, String(SIZE)],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // The pipe fills (64 KiB) long before the child is done: it must wait for us.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const received = await new Response(child.stdout).text();
  const { code } = await child.status;
  assertEquals(code, 0);
  assertEquals(received.length, SIZE);
  assertEquals(received === countingPattern(SIZE), true, "bytes repeated or out of order");
});
