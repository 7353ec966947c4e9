/**
 * The compiled binary (Bun) runs its file store's workers (sqlite_worker.ts, inside the binary:
 * `make build-bun` names it): each sweep's checkpoint, so that the WAL's contents reach the
 * database file, and each metrics scrape's live counts; neither falls back to the event loop.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { testSession } from "../support/client_events_fixture.ts";
import { parseInlineToml } from "../support/config_toml.ts";
import { freePort } from "../support/free_port.ts";
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

Deno.test("the compiled binary counts live sessions for its metrics on a worker thread", async () => {
  const metricsPort = await freePort();
  const { dir, port, config } = await writeLocalConfig("binary-count-test-", (dir) => ({
    rest: `[sessions]
backend = "file"
path = "${join(dir, "sessions.sqlite")}"
[metrics]
listen = "127.0.0.1:${metricsPort}"
[log]
level = "warning"
`,
  }));
  try {
    const { config: loaded } = parseInlineToml(readFileSync(config, "utf8"), config);
    const store = await openSessionStore(loaded.sessions, loaded.http.secret);
    const now = Date.now();
    for (const sessionId of ["s-1", "s-2", "s-3"]) {
      await store.putSession(
        testSession({ sessionId, cid: undefined, resumable: true, expiresAt: now + 3_600_000 }),
      );
    }
    await store.putSession(testSession({ sessionId: "s-old", cid: undefined, expiresAt: now - 1 }));
    await store.close();
    const child = spawnBinary(config);
    try {
      (await waitForHealthz(port)).body?.cancel();
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert(metrics.includes('openvpn_auth_oidc_sessions{server="default"} 3\n'), metrics);
      assert(metrics.includes('openvpn_auth_oidc_pending_logins{server="default"} 0\n'), metrics);
      // A count that fell back to the event loop logs a warning in its own turn, before the
      // binary handles SIGTERM.
      child.kill("SIGTERM");
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assertEquals(status.code, 0);
      assert(!/Live count/.test(stderr), stderr);
    } finally {
      await killProcess(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
