/**
 * The compiled binary (Bun) checkpoints its session file at each sweep on a worker thread: the
 * worker's module is inside the binary (`make build-bun` names it), so no sweep falls back to
 * the event loop, and the WAL's contents reach the database file.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  killProcess,
  spawnBinary,
  waitForHealthz,
  writeLocalConfig,
} from "../support/service_process.ts";

/** Whether the database file alone (a copy, without its WAL) has the sessions table yet. */
function mainFileHasTables(dir: string): boolean {
  const copy = join(dir, "main-only.sqlite");
  copyFileSync(join(dir, "sessions.sqlite"), copy);
  const db = new DatabaseSync(copy, { readOnly: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").get() !== undefined;
  } finally {
    db.close();
  }
}

Deno.test("the compiled binary checkpoints its session file on a worker thread", async () => {
  const { dir, port, config } = await writeLocalConfig("binary-wal-test-", (dir) => ({
    rest: `[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"
sweep_interval = "200ms"
[log]
level = "warning"
`,
  }));
  const child = spawnBinary(config);
  try {
    (await waitForHealthz(port)).body?.cancel();
    // Bounded only as a safety net for a loaded machine; a sweep comes every 200 ms.
    const giveUpAt = Date.now() + 60_000;
    while (!mainFileHasTables(dir) && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert(mainFileHasTables(dir), "a sweep's checkpoint reached the database file");
    // Had the worker failed, the sweep would have logged it in the event-loop turn of its
    // fallback checkpoint, before the binary handles SIGTERM.
    child.kill("SIGTERM");
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assertEquals(status.code, 0);
    assert(!/WAL checkpoint|Session sweep failed/.test(stderr), stderr);
  } finally {
    await killProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
});
