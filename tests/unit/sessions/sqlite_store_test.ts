import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { statSync } from "node:fs";
import { captureLogs } from "../../support/log_capture.ts";
import { migrate, SCHEMA_VERSION } from "../../../src/sessions/sqlite_schema.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { prepareStatements } from "../../../src/sessions/sqlite_statements.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { registerStoreContract } from "./contract.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(8);

async function tempPath(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  return { dir, path: `${dir}/sessions.db` };
}

async function open(path: string, key = KEY): Promise<SqliteStore> {
  return await SqliteStore.open({
    path,
    cipher: await TokenCipher.fromKeyBytes(key),
    maxEntries: 1000,
    now: () => T0,
  });
}

/** Opens a store in a fresh directory and always cleans up after `body`. */
async function withStore(
  body: (store: SqliteStore, path: string) => Promise<void>,
): Promise<void> {
  const { dir, path } = await tempPath();
  const store = await open(path);
  try {
    await body(store, path);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

registerStoreContract("SqliteStore", async ({ maxEntries, now }) => {
  const { dir, path } = await tempPath();
  const openOnFile = async () =>
    await SqliteStore.open({ path, cipher: await TokenCipher.fromKeyBytes(KEY), maxEntries, now });
  const store = await openOnFile();
  const others: SqliteStore[] = [];
  return {
    store,
    // A second connection to the file: its caches are empty, so its reads are SQLite's.
    uncached: async () => {
      const other = await openOnFile();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      for (const other of others) await other.close();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("SqliteStore creates the database and its WAL files with mode 0600", async () => {
  await withStore(async (store, path) => {
    await store.putSession(session());
    assertEquals(mode(path), 0o600);
    assertEquals(mode(`${path}-wal`), 0o600);
    assertEquals(mode(`${path}-shm`), 0o600);
  });
});

Deno.test("SqliteStore tightens an existing database file to mode 0600", async () => {
  const { dir, path } = await tempPath();
  try {
    await (await open(path)).close();
    Deno.chmodSync(path, 0o644);
    const store = await open(path);
    await store.close();
    assertEquals(mode(path), 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore keeps its data across close and reopen", async () => {
  const { dir, path } = await tempPath();
  try {
    const first = await open(path);
    await first.putSession(session());
    const withRun = session({ sessionId: "sess-2", openvpnRun: "4242@1795878880:CONNECTED" });
    await first.putSession(withRun);
    await first.putPending(pendingLogin());
    await first.close();
    const second = await open(path);
    try {
      assertEquals(await second.getSession("sess-1"), session());
      assertEquals(await second.getSession("sess-2"), withRun);
      assertEquals(await second.takePending("p-1"), pendingLogin());
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore refuses to open with another key: Session store key mismatch", async () => {
  const { dir, path } = await tempPath();
  try {
    const first = await open(path);
    await first.putSession(session());
    await first.close();
    const mismatch = await assertRejects(
      () => open(path, OTHER_KEY),
      Error,
      /^Session store key mismatch: /,
    );
    assertEquals(mismatch.name, "Error");
    // The refusal changed nothing: the right key still reads the session.
    const again = await open(path);
    assertEquals(await again.getSession("sess-1"), session());
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore stores the refresh token encrypted, never in plain text", async () => {
  const token = "eyJhbGciOiJIUzI1NiJ9.plain-refresh-token-marker.c2lnbmF0dXJl";
  await withStore(async (store, path) => {
    await store.putSession(session({ refreshToken: token }));
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const row = raw.prepare("SELECT data, refresh_token FROM sessions").get();
      assert(row);
      assert(!String(row["data"]).includes("plain-refresh-token-marker"));
      assert(row["refresh_token"] instanceof Uint8Array);
      assert(!new TextDecoder().decode(row["refresh_token"]).includes("plain-refresh"));
    } finally {
      raw.close();
    }
    for (const file of [path, `${path}-wal`]) {
      const bytes = new TextDecoder("latin1").decode(Deno.readFileSync(file));
      assert(!bytes.includes("plain-refresh-token-marker"), `token found in ${file}`);
    }
    assertEquals((await store.getSession("sess-1"))?.refreshToken, token);
  });
});

Deno.test("SqliteStore will not decrypt a refresh token moved to another session", async () => {
  await withStore(async (store, path) => {
    await store.putSession(session({ sessionId: "victim", refreshToken: "victim-token" }));
    await store.putSession(session({ sessionId: "attacker", refreshToken: "own-token" }));
    const raw = new DatabaseSync(path);
    try {
      raw.prepare(
        "UPDATE sessions SET refresh_token = " +
          "(SELECT refresh_token FROM sessions WHERE session_id = 'victim') " +
          "WHERE session_id = 'attacker'",
      ).run();
    } finally {
      raw.close();
    }
    await assertRejects(
      () => store.getSession("attacker"),
      Error,
      /Refresh token decryption failed/,
    );
    assertEquals((await store.getSession("victim"))?.refreshToken, "victim-token");
    // Nor hand it back when removing that session (it would be revoked): removed all the same.
    const capture = captureLogs();
    try {
      assertEquals(await store.deleteSession("attacker"), { server: "vpn1", cid: 7 });
    } finally {
      capture.stop();
    }
    assertEquals(await store.getSession("attacker"), undefined);
    assertEquals(capture.lines.map((line) => line.level), ["warning"]);
    assert(!JSON.stringify(capture.lines).includes("-token"), JSON.stringify(capture.lines));
  });
});

Deno.test("SqliteStore: a session removed after another store on the file rotated its token hands back that token, not the one cached", async () => {
  await withStore(async (store, path) => {
    const other = await open(path);
    try {
      await store.putSession(session({ refreshToken: "token-1" }));
      assertEquals((await store.getSession("sess-1"))?.refreshToken, "token-1", "cached here");
      const read = (await other.getSession("sess-1"))!;
      assert(await other.updateSession({ ...read, refreshToken: "token-2" }));
      assertEquals((await store.deleteSession("sess-1"))?.refreshToken, "token-2");
    } finally {
      await other.close();
    }
  });
});

Deno.test("SqliteStore sets user_version to the schema version", async () => {
  await withStore(async (store, path) => {
    await store.putSession(session());
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const row = raw.prepare("PRAGMA user_version").get();
      assertEquals(row?.["user_version"], SCHEMA_VERSION);
      assert(SCHEMA_VERSION >= 1);
    } finally {
      raw.close();
    }
  });
});

/**
 * A file as a program of schema `version` left it: its rows written the way that program
 * wrote them (no sid, subject and user name columns before version 3).
 */
async function olderFile(path: string, version: number): Promise<void> {
  const cipher = await TokenCipher.fromKeyBytes(KEY);
  const raw = new DatabaseSync(path);
  try {
    raw.exec("PRAGMA journal_mode = WAL");
    migrate(raw, path, version);
    const insert = raw.prepare(
      "INSERT INTO sessions (session_id, server, cid, expires_at, data, refresh_token) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    );
    const kept = session({ sessionId: "kept", sid: "sso-9", subject: "u-9" });
    const data = JSON.stringify({ ...kept, refreshToken: undefined });
    const token = cipher.sealToken(kept.refreshToken!, kept.sessionId);
    insert.run(kept.sessionId, kept.server, kept.cid ?? null, kept.expiresAt, data, token);
    // Others, so that the rows the migration rewrites fill many pages.
    for (let i = 0; i < 200; i++) {
      const other = session({
        sessionId: `other-${i}`,
        sid: `sso-o${i}`,
        subject: `u-o${i}`,
        username: `user-${i}`,
        cid: 100 + i,
      });
      const otherData = JSON.stringify({ ...other, refreshToken: undefined });
      const sealed = cipher.sealToken(other.refreshToken!, other.sessionId);
      insert.run(other.sessionId, other.server, other.cid!, other.expiresAt, otherData, sealed);
    }
  } finally {
    raw.close();
  }
}

for (const version of [1, 2]) {
  Deno.test(`SqliteStore migrates a version ${version} file: its sessions are found by sid, subject and user name`, async () => {
    const { dir, path } = await tempPath();
    try {
      await olderFile(path, version);
      const logs = captureLogs();
      let store: SqliteStore;
      try {
        store = await open(path);
      } finally {
        logs.stop();
      }
      // Logged once, and what the migration wrote is folded back into the file at once.
      const migrated = logs.lines.filter((line) => line.text.includes("migrated"));
      assertEquals(migrated.map((line) => [line.level, line.properties["from"]]), [
        ["info", version],
      ]);
      // (200 rows rewritten: ~500 KB in the WAL without; the key check's insert follows it.)
      assert(statSync(`${path}-wal`).size < 64 * 1024, `WAL ${statSync(`${path}-wal`).size} B`);
      try {
        assertEquals((await store.findSessionsBySid("sso-9")).map((s) => s.sessionId), [
          "kept",
        ]);
        assertEquals((await store.findSessionsBySubject("u-9")).length, 1);
        assertEquals((await store.findSessionsByUsername("alice")).length, 1);
        const kept = (await store.getSession("kept"))!;
        assertEquals(kept.refreshToken, session().refreshToken);
        // Moved to another cid (the update that leaves the new columns alone): still found.
        await store.putSession({ ...kept, cid: 12 });
        assertEquals((await store.findSessionsBySid("sso-9")).map((s) => s.cid), [12]);
      } finally {
        await store.close();
      }
      const check = new DatabaseSync(path, { readOnly: true });
      try {
        assertEquals(
          check.prepare("PRAGMA user_version").get()?.["user_version"],
          SCHEMA_VERSION,
        );
        const columns = check.prepare(
          "SELECT sid, subject, username FROM sessions WHERE session_id = 'kept'",
        ).get();
        assertEquals({ ...columns }, { sid: "sso-9", subject: "u-9", username: "alice" });
      } finally {
        check.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

function queryPlan(path: string, expression: string): string {
  const raw = new DatabaseSync(path, { readOnly: true });
  try {
    return raw.prepare(
      `EXPLAIN QUERY PLAN SELECT data, refresh_token FROM sessions ` +
        `WHERE ${expression} = ? AND expires_at >= ?`,
    ).all("x", T0).map((row) => String(row["detail"])).join("; ");
  } finally {
    raw.close();
  }
}

Deno.test("SqliteStore looks sessions up by sid, subject and user name through an index", async () => {
  await withStore((_store, path) => {
    for (
      const [expression, index] of [
        ["sid", "sessions_by_sid"],
        ["subject", "sessions_by_subject"],
        ["username", "sessions_by_username"],
      ] as const
    ) {
      const plan = queryPlan(path, expression);
      assertMatch(plan, new RegExp(`USING INDEX ${index} `), plan);
    }
    return Promise.resolve();
  });
});

Deno.test("SqliteStore counts live sessions and pending logins per server from an index alone", async () => {
  await withStore((_store, path) => {
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const sql = prepareStatements(raw);
      for (
        const [statement, index] of [
          [sql.countLiveSessions, "sessions_by_client"],
          [sql.countLivePending, "pending_by_client"],
        ] as const
      ) {
        const plan = raw.prepare(`EXPLAIN QUERY PLAN ${statement.sourceSQL}`).all("vpn1", T0)
          .map((row) => String(row["detail"])).join("; ");
        // Not the table: a metrics scrape counted 1,000,000 sessions through it in 1.3 s.
        assertMatch(plan, new RegExp(`USING COVERING INDEX ${index} `), plan);
      }
    } finally {
      raw.close();
    }
    return Promise.resolve();
  });
});

Deno.test("SqliteStore refuses a file with a newer schema version", async () => {
  const { dir, path } = await tempPath();
  try {
    await (await open(path)).close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const newer = await assertRejects(
      () => open(path),
      Error,
      new RegExp(
        `^Session store schema is newer than this program: .*version ${SCHEMA_VERSION + 1}`,
      ),
    );
    assertEquals(newer.name, "Error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore names the file when SQLite refuses it: not a database, or damaged past its first page", async () => {
  const { dir, path } = await tempPath();
  const refused = (message: string) =>
    assertRejects(() => open(path), Error, `Session file ${path}: ${message}`);
  try {
    // A text file at sessions.path: SQLite's words alone did not say which file.
    await Deno.writeTextFile(path, "not a session file, but long enough to have a header\n");
    const notDatabase = await refused("file is not a database");
    assertEquals((notDatabase.cause as Error).message, "file is not a database");
    await Deno.remove(path);
    // Damage found only when the tables are read, after the file itself was opened.
    const store = await open(path);
    for (let cid = 0; cid < 50; cid++) {
      await store.putSession(session({ sessionId: `s-${cid}`, cid }));
    }
    await store.close();
    const bytes = await Deno.readFile(path);
    bytes.fill(0xff, 4096);
    await Deno.writeFile(path, bytes);
    await refused("database disk image is malformed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore lets a second connection read while it is open", async () => {
  await withStore(async (store, path) => {
    await store.putSession(session());
    const reader = new DatabaseSync(path, { readOnly: true });
    try {
      const row = reader.prepare("SELECT count(*) AS n FROM sessions").get();
      assertEquals(row?.["n"], 1);
      await store.putSession(session({ sessionId: "sess-2" }));
      assertEquals(reader.prepare("SELECT count(*) AS n FROM sessions").get()?.["n"], 2);
    } finally {
      reader.close();
    }
  });
});

Deno.test("SqliteStore hands a pending login to one of two stores on the same file", async () => {
  await withStore(async (store, path) => {
    const other = await open(path);
    try {
      await store.putPending(pendingLogin());
      const results = await Promise.all([
        store.takePending("p-1"),
        other.takePending("p-1"),
        store.takePending("p-1"),
        other.takePending("p-1"),
      ]);
      assertEquals(results.filter((result) => result !== undefined).length, 1);
    } finally {
      await other.close();
    }
  });
});

Deno.test("SqliteStore: an update of a session it has cached is refused once another store on the file ended it", async () => {
  await withStore(async (store, path) => {
    const other = await open(path);
    try {
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.cid, 7, "cached here");
      assert(await other.deleteSession("sess-1"));
      assertEquals(await store.updateSession(session({ cid: undefined })), false);
      assertEquals(await other.getSession("sess-1"), undefined);
      // A sign-in the other store made under the same id is not overwritten either.
      await other.putSession(session({ createdAt: T0 + 1, cid: 3 }));
      assertEquals(await store.updateSession(session({ cid: undefined })), false);
      assertEquals((await other.getSession("sess-1"))?.cid, 3);
    } finally {
      await other.close();
    }
  });
});

Deno.test("SqliteStore writes a pending login put again with its OIDC state to the file", async () => {
  await withStore(async (store, path) => {
    await store.putPending(pendingLogin({ oauth: undefined }));
    await store.putPending(pendingLogin());
    // Another connection has no cache: it reads the row.
    const other = await open(path);
    try {
      assertEquals(await other.getPending("p-1"), pendingLogin());
      assertEquals(await other.deletePendingByCid("vpn1", 7), 1);
    } finally {
      await other.close();
    }
  });
});

Deno.test("SqliteStore creates a missing parent directory", async () => {
  const { dir } = await tempPath();
  try {
    const store = await open(`${dir}/nested/deeper/sessions.db`);
    await store.putSession(session());
    await store.close();
    assertEquals(mode(`${dir}/nested/deeper/sessions.db`), 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore keeps a pending login's state, nonce, PKCE verifier and binding encrypted", async () => {
  const oauth = {
    state: "state-marker-1a",
    nonce: "nonce-marker-2b",
    codeVerifier: "verifier-marker-3c",
    browserBinding: "binding-marker-4d",
  };
  await withStore(async (store, path) => {
    await store.putPending(pendingLogin({ oauth }));
    for (const file of [path, `${path}-wal`]) {
      const bytes = new TextDecoder("latin1").decode(Deno.readFileSync(file));
      for (const value of Object.values(oauth)) {
        assert(!bytes.includes(value), `${value} found in ${file}`);
      }
    }
    assertEquals((await store.getPending("p-1"))?.oauth, oauth);
    assertEquals((await store.takePending("p-1"))?.oauth, oauth);
  });
});

Deno.test("SqliteStore will not decrypt a pending login's OAuth state moved to another login", async () => {
  await withStore(async (store, path) => {
    await store.putPending(pendingLogin({ id: "victim" }));
    await store.putPending(pendingLogin({ id: "attacker", cid: 8 }));
    const raw = new DatabaseSync(path);
    try {
      raw.prepare(
        "UPDATE pending SET data = json_set(data, '$.oauth', " +
          "(SELECT json_extract(data, '$.oauth') FROM pending WHERE id = 'victim')) " +
          "WHERE id = 'attacker'",
      ).run();
    } finally {
      raw.close();
    }
    await assertRejects(() => store.getPending("attacker"), Error, /unreadable/);
    assertEquals((await store.getPending("victim"))?.oauth?.state, "state-1");
  });
});

/**
 * A store with room for two entries per table, and `committed(table)`: the rows another
 * connection sees, that is what is committed.
 */
async function withTwoEntryStore(
  body: (store: SqliteStore, committed: (table: "pending" | "sessions") => number) => Promise<void>,
): Promise<void> {
  const { dir, path } = await tempPath();
  const store = await SqliteStore.open({
    path,
    cipher: await TokenCipher.fromKeyBytes(KEY),
    maxEntries: 2,
    now: () => T0,
  });
  const watcher = new DatabaseSync(path);
  try {
    await body(
      store,
      (table) => Number(watcher.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.["n"]),
    );
  } finally {
    watcher.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteStore writes the pending logins of one turn in one transaction, refusing only the one that does not fit", async () => {
  await withTwoEntryStore(async (store, committed) => {
    const results = Promise.allSettled(
      ["p-1", "p-2", "p-3"].map((id) => store.putPending(pendingLogin({ id }))),
    );
    // Nothing is committed before the turn ends, and no put has resolved.
    assertEquals(committed("pending"), 0);
    const settled = await results;
    assertEquals(settled.map((r) => r.status), ["fulfilled", "fulfilled", "rejected"]);
    assertEquals(committed("pending"), 2);
  });
});

Deno.test("SqliteStore writes the sessions of one turn (a wave of reconnects) in one transaction, refusing only the one that does not fit", async () => {
  await withTwoEntryStore(async (store, committed) => {
    // Without refresh tokens nothing is encrypted first: a put that wrote at once would be
    // committed before the next line.
    const results = Promise.allSettled(
      ["s-1", "s-2", "s-3"].map((sessionId) =>
        store.putSession(session({ sessionId, refreshToken: undefined }))
      ),
    );
    assertEquals(committed("sessions"), 0);
    const settled = await results;
    assertEquals(settled.map((r) => r.status), ["fulfilled", "fulfilled", "rejected"]);
    assertEquals(committed("sessions"), 2);
    assertEquals((await store.getSession("s-2"))?.sessionId, "s-2");
    assertEquals(await store.getSession("s-3"), undefined);
    // With refresh tokens (encrypted first), replacing both: they fit, and the tokens are kept.
    await Promise.all(
      ["s-1", "s-2"].map((sessionId) =>
        store.putSession(session({ sessionId, refreshToken: `token-${sessionId}` }))
      ),
    );
    assertEquals((await store.getSession("s-2"))?.refreshToken, "token-s-2");
  });
});

Deno.test("SqliteStore: a session put and then changed in one turn ends as the last change", async () => {
  await withStore(async (store) => {
    const put = store.putSession(session({ sessionId: "s-turn", cid: 1 }));
    const again = store.putSession(session({ sessionId: "s-turn", cid: 2 }));
    await Promise.all([put, again]);
    assertEquals((await store.getSession("s-turn"))?.cid, 2);
    const queued = store.putSession(session({ sessionId: "s-gone" }));
    await queued;
    const putThenDelete = store.putSession(session({ sessionId: "s-gone", cid: 3 }));
    // The delete runs after the queued put is committed: the session is gone, not brought back.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert(await store.deleteSession("s-gone"));
    await putThenDelete;
    assertEquals(await store.getSession("s-gone"), undefined);
  });
});

Deno.test("SqliteStore: a read in the same turn sees a pending login whose put has not resolved yet", async () => {
  await withStore(async (store, path) => {
    const put = store.putPending(pendingLogin({ id: "p-queued" }));
    const found = await store.getPending("p-queued");
    assertEquals(found?.id, "p-queued");
    await put;
    const raw = new DatabaseSync(path);
    try {
      assert(raw.prepare("SELECT 1 FROM pending WHERE id = 'p-queued'").get());
    } finally {
      raw.close();
    }
  });
});

Deno.test("SqliteStore commits queued pending logins and sessions when it is closed", async () => {
  const { dir, path } = await tempPath();
  try {
    const store = await open(path);
    const puts = [
      store.putPending(pendingLogin({ id: "p-at-close" })),
      // Without a refresh token nothing is encrypted first: the put is queued at once.
      store.putSession(session({ sessionId: "s-at-close", refreshToken: undefined })),
    ];
    await store.close();
    await Promise.all(puts);
    const reopened = await open(path);
    assertEquals((await reopened.getPending("p-at-close"))?.id, "p-at-close");
    assertEquals((await reopened.getSession("s-at-close"))?.sessionId, "s-at-close");
    await reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
