/**
 * The file store's rows as entries: JSON checked by entry_check.ts, the refresh token and the
 * pending login's OAuth secrets decrypted; and the key check that refuses a file written with
 * another key.
 */
import type { StatementSync } from "node:sqlite";
import { checkSession } from "./entry_check.ts";
import { openPendingData } from "./pending_data.ts";
import type { TokenCipher } from "./token_cipher.ts";
import type { PendingLogin, Session, StoreTable } from "./types.ts";

export type Row = Record<string, unknown>;

const KEY_CHECK = "key_check";

/**
 * `expectedId` (both decoders): the id the row was read by, which its JSON must carry, so a row
 * copied under another id is refused (entry_check.ts). Where no id was asked for (the lists,
 * findSessionIdByCid) none is passed: each entry is handed out under the id its own JSON names
 * (its secrets are sealed to that id), so there a copied row is a second copy of its source,
 * never an entry under the id it was copied to, and it is not cached under that id. The key
 * column cannot stand in for the id asked for: a TEXT key does not hold every JS string exactly
 * (Deno's node:sqlite reads it back cut at a NUL; a lone surrogate is stored as U+FFFD).
 */
export function decodePendingRow(row: Row, cipher: TokenCipher, expectedId?: string): PendingLogin {
  return decode(row, "pending", (data) => openPendingData(data, cipher, expectedId));
}

/** A frozen session, its refresh token decrypted (bound to its session id). */
export function decodeSessionRow(row: Row, cipher: TokenCipher, expectedId?: string): Session {
  const session = decode(row, "sessions", (data) => checkSession(data, { expectedId }));
  const blob = row["refresh_token"];
  if (blob instanceof Uint8Array) {
    session.refreshToken = cipher.openToken(blob, session.sessionId);
  }
  return Object.freeze(session);
}

/** Stores this key's check in a new file; refuses a file whose check another key made. */
export async function checkStoreKey(
  sql: { insertMeta: StatementSync; getMeta: StatementSync },
  cipher: TokenCipher,
  path: string,
): Promise<void> {
  const candidate = await cipher.makeKeyCheck();
  // OR IGNORE: if another process stored its check first, that one is compared below.
  sql.insertMeta.run(KEY_CHECK, candidate);
  const stored = sql.getMeta.get(KEY_CHECK)?.["value"];
  if (!(stored instanceof Uint8Array) || !(await cipher.matchesKeyCheck(stored))) {
    throw new Error(
      `Session store key mismatch: ${path} was written with another sessions.encryption_key ` +
        `(or, when that is unset, another http.secret); restore the key or remove the file`,
    );
  }
}

function decode<T>(row: Row, table: StoreTable, check: (data: unknown) => T): T {
  try {
    return check(JSON.parse(String(row["data"])));
  } catch (cause) {
    // No ids in the message: pending ids are login capabilities and must not reach logs.
    throw new Error(`Session store row is unreadable: ${table}`, { cause });
  }
}
