/**
 * How pending logins and sessions are written to and read from Redis: JSON for the plain
 * fields; the secrets (a session's refresh token, a login's OAuth state, nonce, PKCE verifier and
 * browser binding) only ever encrypted, bound to the entry's id. Entries read back pass the same
 * checks as entries put, so a tampered or foreign value is refused, never half-used.
 */
import { Buffer } from "node:buffer";
import { checkPendingLogin, checkSession } from "./entry_check.ts";
import { LIST_CHUNK } from "./list_chunk.ts";
import { nextTurn } from "../next_turn.ts";
import { sessionData } from "./session_data.ts";
import type { TokenCipher } from "./token_cipher.ts";
import type { PendingLogin, Session, StoreTable } from "./types.ts";

/** What Redis hands back for one entry: its JSON and its encrypted part, when present. */
export type StoredFields = [data: Buffer | null, secret: Buffer | null];

export interface EncodedPending {
  data: string;
  /** Empty when the login has no OAuth state yet. */
  secret: Buffer | "";
}

export interface EncodedSession {
  data: string;
  /** Empty when the session has no refresh token. */
  secret: Buffer | "";
}

export async function encodePending(
  login: PendingLogin,
  cipher: TokenCipher,
): Promise<EncodedPending> {
  const data = JSON.stringify({ ...login, oauth: undefined });
  if (login.oauth === undefined) return { data, secret: "" };
  const blob = await cipher.encryptPendingSecrets(JSON.stringify(login.oauth), login.id);
  return { data, secret: toBuffer(blob) };
}

/** `expectedId`: the id the entry was read under, which it must carry (not a copied entry). */
export async function decodePending(
  [data, secret]: StoredFields,
  cipher: TokenCipher,
  expectedId?: string,
): Promise<PendingLogin | undefined> {
  if (data === null) return undefined;
  const fields = parse(data, "pending");
  if (secret !== null) {
    const id = typeof fields["id"] === "string" ? fields["id"] : "";
    fields["oauth"] = parseSecret(await cipher.decryptPendingSecrets(secret, id), "pending");
  }
  const login = checkRead(() => checkPendingLogin(fields, { expectedId }), "pending");
  return Object.freeze(login);
}

export async function encodeSession(
  session: Session,
  cipher: TokenCipher,
): Promise<EncodedSession> {
  const data = sessionData(session);
  if (session.refreshToken === undefined) return { data, secret: "" };
  const blob = await cipher.encryptToken(session.refreshToken, session.sessionId);
  return { data, secret: toBuffer(blob) };
}

/** `expectedId`: the id the entry was read under, which it must carry (not a copied entry). */
export async function decodeSession(
  [data, secret]: StoredFields,
  cipher: TokenCipher,
  expectedId?: string,
): Promise<Session | undefined> {
  if (data === null) return undefined;
  const session = checkRead(
    () => checkSession(parse(data, "sessions"), { expectedId }),
    "sessions",
  );
  if (secret !== null) {
    session.refreshToken = await cipher.decryptToken(secret, session.sessionId);
  }
  return Object.freeze(session);
}

/**
 * Decodes a flat [data, secret, data, secret, ...] list as scripts return it, or [data, data,
 * ...] with `withSecrets` false (a session listing, no tokens). No id was asked for: each entry
 * is served as the id its JSON names (as the file store's lists, sqlite_rows.ts).
 */
export async function decodeAll<T>(
  flat: Array<Buffer | null>,
  decode: (fields: StoredFields, cipher: TokenCipher) => Promise<T | undefined>,
  cipher: TokenCipher,
  withSecrets = true,
): Promise<T[]> {
  const stride = withSecrets ? 2 : 1;
  const entries: T[] = [];
  for (let i = 0; i + stride - 1 < flat.length; i += stride) {
    // A listing of the whole store: a turn of its own every LIST_CHUNK entries (list_chunk.ts).
    if (i > 0 && i % (stride * LIST_CHUNK) === 0) await nextTurn();
    const secret = withSecrets ? flat[i + 1] ?? null : null;
    const entry = await decode([flat[i] ?? null, secret], cipher);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

function toBuffer(blob: Uint8Array): Buffer {
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
}

function parse(data: Buffer, table: StoreTable): Record<string, unknown> {
  return checkRead(() => {
    const value: unknown = JSON.parse(data.toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError("not an object");
    }
    return value as Record<string, unknown>;
  }, table);
}

function parseSecret(text: string, table: StoreTable): unknown {
  return checkRead(() => JSON.parse(text), table);
}

function checkRead<T>(step: () => T, table: StoreTable): T {
  try {
    return step();
  } catch (cause) {
    // No ids in the message: pending ids are login capabilities and must not reach logs.
    throw new Error(`Session store entry is unreadable: ${table}`, { cause });
  }
}
