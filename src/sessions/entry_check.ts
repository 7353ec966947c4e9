/**
 * Checks the shape of pending logins and sessions and returns detached copies. Every store
 * (memory, SQLite file, Redis) runs every put through these, so they accept and reject the same
 * values and a row read back from disk is held to the same rules as one handed in by the program.
 */
import { secureEqual } from "../secure_compare.ts";
import { MAX_OPENVPN_RUN_CHARS } from "../management/openvpn_run.ts";
import type { SharedValues } from "./shared_values.ts";
import type { PendingLogin, PendingOAuth, Session } from "./types.ts";

type Fields = Record<string, unknown>;

function fail(what: string, field: string): never {
  throw new TypeError(`Invalid ${what}: field "${field}" has the wrong type`);
}

function record(value: unknown, what: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Invalid ${what}: not an object`);
  }
  return value as Fields;
}

function str(fields: Fields, key: string, what: string): string {
  const value = fields[key];
  return typeof value === "string" ? value : fail(what, key);
}

/**
 * The entry's own id, which must be `expectedId` when that is given: the id a read asked for,
 * which the row or key it found was looked up by. An entry copied under another id (its secrets
 * still open, as they are sealed to the id inside it) is refused instead of being served there.
 * Not compared with a stored key: a SQLite TEXT key does not hold every JS string exactly.
 */
function entryId(
  fields: Fields,
  key: string,
  what: string,
  expectedId: string | undefined,
): string {
  const value = str(fields, key, what);
  if (expectedId !== undefined && value !== expectedId) {
    throw new TypeError(`Invalid ${what}: field "${key}" names another entry than the one read`);
  }
  return value;
}

const ON_BUN = "Bun" in globalThis;
const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the text, not a byte order mark to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A copy of `text` that keeps no other string alive. A value read out of a management block is a
 * slice of the chunk the block came in, and both runtimes keep a slice's whole parent: stored as
 * it came, a session id alone held the ~2.4 KB of its CONNECT block (or a storm's chunk of many
 * blocks) for as long as the session lived. Only for fields OpenVPN sends: strings parsed out of
 * the IdP's JSON are copies already.
 *
 * Through UTF-8 on Bun (100,000 sessions held ~200 B less RSS each than copied through JSON),
 * through JSON on Deno (where encoding a short string costs ~2 µs). Text that is not well-formed
 * UTF-16 (a lone surrogate) goes through JSON everywhere, as UTF-8 cannot carry it.
 */
export function ownString(text: string): string {
  if (text === "") return text;
  if (ON_BUN && text.isWellFormed()) return decoder.decode(encoder.encode(text));
  return JSON.parse(JSON.stringify(text)) as string;
}

function bool(fields: Fields, key: string, what: string): boolean {
  const value = fields[key];
  if (typeof value !== "boolean") fail(what, key);
  return value;
}

function optionalBool(fields: Fields, key: string, what: string): boolean | undefined {
  return fields[key] === undefined ? undefined : bool(fields, key, what);
}

function optionalStr(fields: Fields, key: string, what: string): string | undefined {
  return fields[key] === undefined ? undefined : str(fields, key, what);
}

function int(fields: Fields, key: string, what: string): number {
  const value = fields[key];
  return Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : fail(what, key);
}

function optionalInt(fields: Fields, key: string, what: string): number | undefined {
  return fields[key] === undefined ? undefined : int(fields, key, what);
}

function time(fields: Fields, key: string, what: string): number {
  const value = fields[key];
  return typeof value === "number" && Number.isFinite(value) ? value : fail(what, key);
}

function optionalTime(fields: Fields, key: string, what: string): number | undefined {
  return fields[key] === undefined ? undefined : time(fields, key, what);
}

function strings(fields: Fields, key: string, what: string, shared?: SharedValues): string[] {
  const value = fields[key];
  if (!Array.isArray(value)) fail(what, key);
  // An index loop, not every(): a hole in a sparse array is not a string either.
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") fail(what, key);
  return shared === undefined ? [...value] : shared.list(value);
}

/** Claims are JSON from the IdP; cloning through JSON gives every store the same semantics. */
function claims(
  fields: Fields,
  key: string,
  what: string,
  shared?: SharedValues,
): Record<string, unknown> {
  const value = fields[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(what, key);
  if (shared !== undefined) return shared.claims(value as Record<string, unknown>);
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

function oauth(value: unknown): PendingOAuth | undefined {
  if (value === undefined) return undefined;
  const what = "pending login OAuth state";
  const fields = record(value, what);
  return {
    state: str(fields, "state", what),
    nonce: str(fields, "nonce", what),
    codeVerifier: str(fields, "codeVerifier", what),
    browserBinding: str(fields, "browserBinding", what),
  };
}

export interface CheckOptions {
  /**
   * For a store that keeps the copy itself in memory: the fields from OpenVPN are then copied
   * too (see ownString); a store that writes the entry out gains nothing from it on every put.
   */
  ownStrings?: boolean;
  /** For a read: the id asked for, which the entry must carry (see `entryId`). */
  expectedId?: string | undefined;
}

/** Returns a copy of `value` if it is a valid PendingLogin, else throws a TypeError. */
export function checkPendingLogin(
  value: unknown,
  { ownStrings = false, expectedId }: CheckOptions = {},
): PendingLogin {
  const what = "pending login";
  const fields = record(value, what);
  const sent = (key: string) => {
    const text = str(fields, key, what);
    return ownStrings ? ownString(text) : text;
  };
  const login: PendingLogin = {
    id: entryId(fields, "id", what, expectedId),
    server: str(fields, "server", what),
    cid: int(fields, "cid", what),
    kid: int(fields, "kid", what),
    commonName: sent("commonName"),
    username: sent("username"),
    clientIp: sent("clientIp"),
    clientPort: int(fields, "clientPort", what),
    platform: sent("platform"),
    clientVersion: sent("clientVersion"),
    sessionId: sent("sessionId"),
    createdAt: time(fields, "createdAt", what),
    expiresAt: time(fields, "expiresAt", what),
    oauth: oauth(fields["oauth"]),
  };
  setDefined(login, "presentedToken", optionalBool(fields, "presentedToken", what));
  setDefined(login, "presentsIssuedToken", optionalBool(fields, "presentsIssuedToken", what));
  setDefined(login, "sessionIdUnverified", optionalBool(fields, "sessionIdUnverified", what));
  setDefined(login, "openvpnRun", openvpnRun(fields, what));
  return login;
}

/**
 * Whether `b` is the same login as `a`, written again (`updatePending`): same id, server, cid and
 * deadline. The file and Redis stores ask the same of the stored row in their statements.
 */
export function samePendingKeys(a: PendingLogin, b: PendingLogin): boolean {
  return a.id === b.id && a.server === b.server && a.cid === b.cid && a.expiresAt === b.expiresAt;
}

/**
 * Whether `next` may be written over `stored` (`updatePending`): a login begun in one browser
 * is not taken over by another; the same browser may begin again.
 */
export function sameBrowserOrUnbound(stored: PendingLogin, next: PendingLogin): boolean {
  if (stored.oauth === undefined) return true;
  // The binding is a cookie value: compared in constant time, as LoginFlow compares it.
  return next.oauth !== undefined &&
    secureEqual(stored.oauth.browserBinding, next.oauth.browserBinding);
}

/** Built from OpenVPN's replies (openvpn_run.ts): bounded like them. */
function openvpnRun(fields: Fields, what: string): string | undefined {
  const value = optionalStr(fields, "openvpnRun", what);
  return value !== undefined && value.length > MAX_OPENVPN_RUN_CHARS
    ? fail(what, "openvpnRun")
    : value;
}

/** The runs sessions were last checked with (see `sharedRun`). */
const recentRuns: string[] = [];
const RECENT_RUNS = 4;

/**
 * One string for one run of OpenVPN, whichever session names it: every session bound in a run
 * names the same few, and a session decoded from the file or Redis (kept in their caches) would
 * otherwise hold a copy of its own. A memory store is handed the link's own string already.
 */
function sharedRun(run: string | undefined): string | undefined {
  if (run === undefined) return undefined;
  for (const known of recentRuns) if (known === run) return known;
  recentRuns.unshift(run);
  if (recentRuns.length > RECENT_RUNS) recentRuns.pop();
  return run;
}

/**
 * Sets `entry[key]` unless `value` is undefined: an optional (`?:`) field stays absent. Set
 * after the literal rather than spread into it: each spread built an object of its own, garbage
 * at every put (on Bun, 100,000 sessions held ~90 B less RSS each without).
 */
function setDefined<T, K extends keyof T>(entry: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) entry[key] = value;
}

/**
 * Returns a copy of `value` if it is a valid Session, else throws a TypeError. Decoded JSON has
 * strings of its own already (no `ownStrings` needed). With `shared`, its lists and nested claims
 * are the shared (frozen) copies, its other strings those of `value`.
 */
export function checkSession(
  value: unknown,
  { ownStrings = false, expectedId, shared }: CheckOptions & { shared?: SharedValues } = {},
): Session {
  const what = "session";
  const fields = record(value, what);
  const own = (text: string) => ownStrings ? ownString(text) : text;
  const commonName = str(fields, "commonName", what);
  const username = str(fields, "username", what);
  const clientIp = optionalStr(fields, "clientIp", what);
  const cid = optionalInt(fields, "cid", what);
  // Checked either way; kept only with the cid it is the run of.
  const run = sharedRun(openvpnRun(fields, what));
  const session: Session = {
    sessionId: own(entryId(fields, "sessionId", what, expectedId)),
    server: str(fields, "server", what),
    cid,
    // A certificate named after its user (from OpenVPN and from the IdP): one string, the IdP's.
    commonName: commonName === username ? username : own(commonName),
    username,
    groups: strings(fields, "groups", what, shared),
    roles: strings(fields, "roles", what, shared),
    claims: claims(fields, "claims", what, shared),
    subject: str(fields, "subject", what),
    sid: optionalStr(fields, "sid", what),
    refreshToken: optionalStr(fields, "refreshToken", what),
    refreshExpiresAt: optionalTime(fields, "refreshExpiresAt", what),
    resumable: bool(fields, "resumable", what),
    createdAt: time(fields, "createdAt", what),
    lastAuthAt: time(fields, "lastAuthAt", what),
    expiresAt: time(fields, "expiresAt", what),
  };
  setDefined(session, "clientIp", clientIp === undefined ? undefined : own(clientIp));
  setDefined(session, "openvpnRun", cid === undefined ? undefined : run);
  return session;
}
