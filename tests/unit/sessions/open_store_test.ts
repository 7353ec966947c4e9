import { assert, assertEquals, assertRejects, assertThrows } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { openSessionStore, startSweeper } from "../../../src/sessions/open_store.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import type { SweepResult } from "../../../src/sessions/types.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { session, T0 } from "./fixtures.ts";

const now = () => T0;

Deno.test("openSessionStore() opens a MemoryStore for backend memory", async () => {
  const store = await openSessionStore(sessionsConfig(), new Secret("http"), now);
  assert(store instanceof MemoryStore);
  await store.putSession(session());
  assertEquals(await store.getSession("sess-1"), session());
  await store.close();
});

Deno.test("openSessionStore() opens a SqliteStore keyed by http.secret when no key is set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    const file = sessionsConfig({ backend: "file", path: `${dir}/sessions.db` });
    const store = await openSessionStore(file, new Secret("http one"), now);
    assert(store instanceof SqliteStore);
    await store.putSession(session());
    await store.close();
    await assertRejects(
      () => openSessionStore(file, new Secret("http two"), now),
      Error,
      /Session store key mismatch/,
    );
    const again = await openSessionStore(file, new Secret("http one"), now);
    assertEquals(await again.getSession("sess-1"), session());
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSessionStore() uses sessions.encryption_key instead of http.secret when set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    const file = sessionsConfig({
      backend: "file",
      path: `${dir}/sessions.db`,
      encryptionKey: new Secret("ab".repeat(32)),
    });
    await (await openSessionStore(file, new Secret("http one"), now)).close();
    // Another http.secret does not matter while the key stays the same.
    await (await openSessionStore(file, new Secret("http two"), now)).close();
    await assertRejects(
      () => openSessionStore({ ...file, encryptionKey: undefined }, new Secret("http one"), now),
      Error,
      /Session store key mismatch/,
    );
    await assertRejects(
      () =>
        openSessionStore({ ...file, encryptionKey: new Secret("too short") }, new Secret("h"), now),
      Error,
      /Invalid sessions\.encryption_key/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The error the file store's start at `path` refuses with, as the service (owner) or not. */
function refusalAt(path: string, owner = true): Promise<Error> {
  return assertRejects(
    () =>
      openSessionStore(sessionsConfig({ backend: "file", path }), new Secret("h"), now, { owner }),
    Error,
  );
}

Deno.test("openSessionStore() names sessions.path and the fix when the file system refuses the store's directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    // A regular file where the directory should be: ENOTDIR, refused even to root.
    await Deno.writeTextFile(`${dir}/file`, "");
    const path = `${dir}/file/state/sessions.db`;
    // The service's own start (owner lock first), and any other open of the file.
    for (const owner of [true, false]) {
      const error = await refusalAt(path, owner);
      assertEquals(
        error.message,
        `Session store cannot use sessions.path ${path}: ENOTDIR: not a directory, mkdir ` +
          `'${dir}/file/state'; the service creates it and its lock, -wal and -shm files in ` +
          `${dir}/file/state, which must be a directory the service user can write (systemd: ` +
          "StateDirectory=), or set sessions.path to a file in one",
        `owner: ${owner}`,
      );
      assertEquals((error.cause as { code?: unknown }).code, "ENOTDIR");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSessionStore() names sessions.path and the likely cause when SQLite refuses the session file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    // Another program's file at sessions.path: refused by SQLite, even to root.
    const path = `${dir}/sessions.db`;
    await Deno.writeTextFile(path, "not a database ".repeat(20));
    for (const owner of [true, false]) {
      const error = await refusalAt(path, owner);
      assertEquals(
        error.message,
        `Session store cannot use sessions.path ${path}: file is not a database; the file is no ` +
          "SQLite database: sessions.path names another program's file; set it to the " +
          "service's own session file or to a new file",
        `owner: ${owner}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSessionStore() tells a lock file SQLite refuses from one another service holds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  try {
    const path = `${dir}/sessions.db`;
    await Deno.writeTextFile(`${path}.lock`, "not a database ".repeat(20));
    const error = await refusalAt(path);
    // It said the file was in use by another openvpn-auth-oidc process: there was none. Nor
    // is sessions.path's own file at fault: a new sessions.path would leave every session.
    assertEquals(
      error.message,
      `Session store cannot use sessions.path ${path}: its lock file ${path}.lock: file is not ` +
        `a database; with no service running on ${path}, remove ${path}.lock (the service ` +
        "makes it again; the sessions are kept)",
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

/** Lets a finished sweep's promise chain run, up to arming the next timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("startSweeper() sweeps at the clock's time every interval until stopped, surviving failures", async () => {
  const clock = new FakeClock(T0);
  const store = new CountingStore();
  const stop = startSweeper(store, 1000, clock);
  clock.advance(999);
  assertEquals(store.sweeps, []);
  clock.advance(1);
  await settle();
  assertEquals(store.sweeps, [T0 + 1000], "first sweep (it fails)");
  for (let i = 2; i <= 3; i++) {
    clock.advance(1000);
    await settle();
  }
  assertEquals(
    store.sweeps,
    [T0 + 1000, T0 + 2000, T0 + 3000],
    "kept going after the failure",
  );
  stop();
  clock.advance(10_000);
  await settle();
  assertEquals(store.sweeps.length, 3, "no sweep after stop");
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("startSweeper() does not overlap a slow sweep with the next one", async () => {
  const clock = new FakeClock(T0);
  let release!: () => void;
  let sweeps = 0;
  const store = {
    sweep() {
      sweeps++;
      return new Promise<SweepResult>((resolve) => {
        release = () => resolve({ pending: 0, sessions: 0 });
      });
    },
  };
  const stop = startSweeper(store, 1000, clock);
  clock.advance(1000);
  clock.advance(5000); // the first sweep is still running
  assertEquals(sweeps, 1);
  release();
  await settle();
  clock.advance(1000);
  assertEquals(sweeps, 2);
  stop();
  release();
});

Deno.test("startSweeper() logs an unreachable store as a warning without a stack, other failures as errors", async () => {
  const clock = new FakeClock(T0);
  const failures: Error[] = [
    new StoreUnavailableError("Redis did not answer in 500 ms"),
    new Error("disk I/O error"),
  ];
  const store = { sweep: () => Promise.reject(failures.shift()) };
  const logs = captureLogs();
  const stop = startSweeper(store, 1000, clock);
  try {
    clock.advance(1000);
    await settle();
    clock.advance(1000);
    await settle();
  } finally {
    stop();
    logs.stop();
  }
  const swept = logs.lines.filter((line) => line.category === "sessions");
  assertEquals(swept.map(({ level, text }) => [level, text]), [
    ["warning", "Session sweep skipped: Redis did not answer in 500 ms"],
    ["error", "Session sweep failed: Error: disk I/O error"],
  ]);
  // Only the message text: no Error object, so no stack trace in the log.
  assertEquals(swept[0]!.properties, { error: "Redis did not answer in 500 ms" });
  // As the sink writes it (an Error's masked view): with its stack.
  const unexpected = swept[1]!.properties.error as { stack?: unknown };
  assert(
    typeof unexpected.stack === "string" && unexpected.stack.includes("disk I/O error\n    at "),
    "an unexpected failure keeps its stack",
  );
});

Deno.test("startSweeper() hands the sweep's expired sessions on, and times the next sweep from the handler's end", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  await store.putSession(session({ sessionId: "old", refreshToken: "rt-old", expiresAt: T0 + 1 }));
  let release!: () => void;
  const swept: string[] = [];
  const stop = startSweeper(store, 1000, clock, (sessions) => {
    swept.push(...sessions.map(({ refreshToken }) => refreshToken));
    return new Promise((resolve) => (release = resolve));
  });
  try {
    clock.advance(1000);
    await settle();
    assertEquals(swept, ["rt-old"]);
    assertEquals(clock.pendingTimers, 0, "no next sweep while the handler runs");
    release();
    await settle();
    assertEquals(clock.pendingTimers, 1);
  } finally {
    stop();
    await store.close();
  }
});

Deno.test("startSweeper() does not report as a failure a sweep that the store's close ended after the stop", async () => {
  const clock = new FakeClock(T0);
  let fail!: (error: Error) => void;
  const store = {
    sweep: () => new Promise<SweepResult>((_, reject) => (fail = reject)),
  };
  const logs = captureLogs();
  try {
    const stop = startSweeper(store, 1000, clock);
    clock.advance(1000);
    stop();
    fail(new Error("Session store is closed"));
    await settle();
  } finally {
    logs.stop();
  }
  const swept = logs.lines.filter((line) => line.category === "sessions");
  assertEquals(swept.map(({ level }) => level), ["debug"]);
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("startSweeper() warns, before the sweep, of a wall clock step of more than a minute since the last", async () => {
  const clock = new FakeClock(T0);
  const logs = captureLogs();
  const warnings = () => logs.lines.filter((line) => line.category === "sessions");
  const sweeps: string[] = [];
  const store = {
    sweep: (now: number) => {
      sweeps.push(`at ${now - T0}, ${warnings().length} warnings before`);
      return Promise.resolve({ pending: 0, sessions: 0 });
    },
  };
  const stop = startSweeper(store, 1000, clock);
  const sweepAfterStep = async (ms: number) => {
    clock.stepWall(ms);
    clock.advance(1000);
    await settle();
  };
  try {
    await sweepAfterStep(60_000); // slewing, or a correction no session notices: no warning
    await sweepAfterStep(86_400_000);
    await sweepAfterStep(-3_600_000);
    await sweepAfterStep(0);
  } finally {
    stop();
    logs.stop();
  }
  assertEquals(sweeps, [
    "at 61000, 0 warnings before",
    "at 86462000, 1 warnings before",
    "at 82863000, 2 warnings before",
    "at 82864000, 2 warnings before",
  ]);
  assertEquals(warnings().map(({ level, text }) => `${level}: ${text}`), [
    "warning: The system clock stepped forward 1d since the last session sweep: sessions expire by the " +
    "wall clock, so those with less than that left end now, their refresh tokens revoked. Keep it " +
    "synchronised (NTP) from boot: see the README's clock section",
    "warning: The system clock stepped back 1h since the last session sweep: sessions expire by the wall " +
    "clock, so each lasts that much longer. Keep it synchronised (NTP) from boot: see the " +
    "README's clock section",
  ]);
});

Deno.test("startSweeper() refuses a non-positive interval", () => {
  assertThrows(
    () => startSweeper(new MemoryStore({ maxEntries: 1 }), 0, new FakeClock()),
    Error,
    /Invalid session sweep interval/,
  );
});
