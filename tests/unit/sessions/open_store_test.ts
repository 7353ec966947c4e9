import assert from "node:assert/strict";
import { Secret } from "../../../src/config/secret.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { openSessionStore, startSweeper } from "../../../src/sessions/open_store.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import type { SessionStore, SweepResult } from "../../../src/sessions/types.ts";
import { session, T0 } from "./fixtures.ts";

function config(overrides: Partial<ResolvedConfig["sessions"]> = {}): ResolvedConfig["sessions"] {
  return {
    backend: "memory",
    path: "/nonexistent/sessions.db",
    lifetimeMs: 3_600_000,
    encryptionKey: undefined,
    reauthCheck: "none",
    idpUnreachable: "deny",
    maxEntries: 100,
    sweepIntervalMs: 60_000,
    ...overrides,
  };
}

const now = () => T0;

Deno.test("openSessionStore() opens a MemoryStore for backend memory", async () => {
  const store = await openSessionStore(config(), new Secret("http"), now);
  assert.ok(store instanceof MemoryStore);
  await store.putSession(session());
  assert.deepStrictEqual(await store.getSession("sess-1"), session());
  await store.close();
});

Deno.test("openSessionStore() opens a SqliteStore keyed by http.secret when no key is set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    const file = config({ backend: "file", path: `${dir}/sessions.db` });
    const store = await openSessionStore(file, new Secret("http one"), now);
    assert.ok(store instanceof SqliteStore);
    await store.putSession(session());
    await store.close();
    await assert.rejects(
      openSessionStore(file, new Secret("http two"), now),
      /Session store key mismatch/,
    );
    const again = await openSessionStore(file, new Secret("http one"), now);
    assert.deepStrictEqual(await again.getSession("sess-1"), session());
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSessionStore() uses sessions.encryption_key instead of http.secret when set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    const file = config({
      backend: "file",
      path: `${dir}/sessions.db`,
      encryptionKey: new Secret("ab".repeat(32)),
    });
    await (await openSessionStore(file, new Secret("http one"), now)).close();
    // Another http.secret does not matter while the key stays the same.
    await (await openSessionStore(file, new Secret("http two"), now)).close();
    await assert.rejects(
      openSessionStore({ ...file, encryptionKey: undefined }, new Secret("http one"), now),
      /Session store key mismatch/,
    );
    await assert.rejects(
      openSessionStore({ ...file, encryptionKey: new Secret("too short") }, new Secret("h"), now),
      /Invalid sessions\.encryption_key/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Counts sweeps; the first one fails, to show the sweeper keeps going. */
class CountingStore {
  readonly sweeps: number[] = [];
  sweep(at: number): Promise<SweepResult> {
    this.sweeps.push(at);
    if (this.sweeps.length === 1) return Promise.reject(new Error("Disk on fire"));
    return Promise.resolve({ pending: 1, sessions: 0 });
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.ok(condition(), "condition not reached");
}

Deno.test("startSweeper() sweeps at the injected time until stopped, surviving failures", async () => {
  const store = new CountingStore();
  const stop = startSweeper(store as unknown as SessionStore, 1, () => T0 + 5);
  try {
    await waitFor(() => store.sweeps.length >= 3);
  } finally {
    stop();
  }
  const count = store.sweeps.length;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(store.sweeps.length, count, "no sweep after stop");
  assert.ok(store.sweeps.every((at) => at === T0 + 5));
});

Deno.test("startSweeper() refuses a non-positive interval", () => {
  assert.throws(
    () => startSweeper(new MemoryStore({ maxEntries: 1 }), 0),
    /Invalid session sweep interval/,
  );
});
