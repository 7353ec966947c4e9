/**
 * Fills a session file fast for the growth table (1,000,000 sessions through `putSession`,
 * one transaction each, would take many minutes): the store creates the file and writes the
 * first session itself, then the rest go in the store's row format, 10,000 rows per
 * transaction, with refresh tokens encrypted by the same cipher. A sample is read back
 * through the store afterwards, so a drift of this format from the store's fails loudly.
 */
import { DatabaseSync } from "node:sqlite";
import type { SessionsConfig } from "../../src/config/types.ts";
import type { Secret } from "../../src/config/secret.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { sessionData } from "../../src/sessions/session_data.ts";
import { TokenCipher } from "../../src/sessions/token_cipher.ts";
import { benchSession } from "./sessions.ts";

const ROWS_PER_TRANSACTION = 10_000;

export async function bulkFill(
  config: SessionsConfig,
  httpSecret: Secret,
  count: number,
  bound: number,
  now = Date.now(),
): Promise<void> {
  const store = await openSessionStore(config, httpSecret);
  await store.putSession(benchSession(0, bound > 0 ? 0 : undefined, now));
  await store.close();
  const cipher = await TokenCipher.fromConfig(config.encryptionKey, httpSecret);
  const db = new DatabaseSync(config.path);
  try {
    const insert = db.prepare(
      "INSERT INTO sessions (session_id, server, cid, expires_at, data, refresh_token, sid, " +
        "subject, username) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (let from = 1; from < count; from += ROWS_PER_TRANSACTION) {
      db.exec("BEGIN");
      for (let client = from; client < Math.min(count, from + ROWS_PER_TRANSACTION); client++) {
        const session = benchSession(client, client < bound ? client : undefined, now);
        insert.run(
          session.sessionId,
          session.server,
          session.cid ?? null,
          session.expiresAt,
          sessionData(session),
          await cipher.encryptToken(session.refreshToken!, session.sessionId),
          session.sid ?? null,
          session.subject,
          session.username,
        );
      }
      db.exec("COMMIT");
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  const check = await openSessionStore(config, httpSecret);
  try {
    for (const client of [0, Math.floor(count / 2), count - 1]) {
      const expected = benchSession(client, client < bound ? client : undefined, now);
      const found = await check.getSession(expected.sessionId);
      if (
        found === undefined || found.refreshToken !== expected.refreshToken ||
        found.cid !== expected.cid
      ) {
        throw new Error(`bulkFill: session ${client} does not read back through the store`);
      }
    }
  } finally {
    await check.close();
  }
}
