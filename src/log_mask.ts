/**
 * The logs' second line of defence (log.ts): what a record would write of a credential is
 * replaced by `***` before a formatter sees it. Code must not log secrets in the first place;
 * this catches what slips through: a property whose name looks like a credential, at any depth.
 */
import type { LogRecord } from "@logtape/logtape";

const MASK = "***";

/**
 * Parts of property names that hold a credential or a capability (its holder gets in, or
 * finishes someone's sign-in), in any case and anywhere in the name (`client_secret`,
 * `refreshToken`, `x-api-key`) unless anchored. A wider rule costs a reader a value, a narrower
 * one leaks it. Names logged today that stay readable: cid, kid, commonName, username, key (a
 * work item's), keys, claims, hint, denialCode, stateTag (which instance a state belongs to),
 * sid (the IdP's session: a logout needs a token the IdP signed), sessionId and session_id
 * (OpenVPN's: it names a session, as `sessions list` shows it; the auth token that carries it
 * is what lets a client back in).
 */
const SENSITIVE_NAMES = [
  "pass", // password, passwd, passphrase
  "pwd?$", // pw, pwd, redisPw
  "secret",
  "token", // access, refresh, ID, logout tokens; OpenVPN's auth token
  "cookie",
  "authorization",
  "credential",
  "assertion", // client_assertion: a signed JWT that stands in for the client secret
  "jwt",
  "private[_-]?key",
  "api[_-]?key",
  "session[_-]?key",
  "nonce",
  "verifier", // PKCE's code_verifier
  "pkce",
  "^code$", // the authorization code; not statusCode, exitCode, denialCode
  "auth[_-]?code",
  "state$", // the OAuth state: it finds the pending login; not states, stateTag, statement
  "binding", // a login's browser binding, the value of its cookie
  "csrf",
];
const SENSITIVE = new RegExp(SENSITIVE_NAMES.join("|"), "i");
/**
 * SENSITIVE's answer per name: a log line holds the same few names again and again, and a map
 * answers 5 to 10 times quicker than the regex. Bounded: names logged from outside data (claims)
 * past it are asked of the regex each time.
 */
const sensitiveByName = new Map<string, boolean>();
const MAX_NAMES_KEPT = 1024;

function isSensitive(name: string): boolean {
  let sensitive = sensitiveByName.get(name);
  if (sensitive === undefined) {
    sensitive = SENSITIVE.test(name);
    if (sensitiveByName.size < MAX_NAMES_KEPT) sensitiveByName.set(name, sensitive);
  }
  return sensitive;
}

/**
 * Nested objects and arrays are looked into this deep (log properties are shallow); a value
 * nested deeper is not written at all, since it was not checked.
 */
const MAX_DEPTH = 8;
const TOO_DEEP = "[nested too deep]";

/**
 * A copy of `properties` with sensitive values replaced by `***`, at any depth (in objects and
 * arrays; past MAX_DEPTH the value is left out); the same object when nothing is sensitive.
 * Sensitive values found are added to `found` (the message LogTape rendered holds them too).
 */
export function maskSensitive(
  properties: Record<string, unknown>,
  found?: Set<unknown>,
): Record<string, unknown> {
  return maskObject(properties, found ?? new Set(), 0);
}

function maskObject(
  properties: Record<string, unknown>,
  found: Set<unknown>,
  depth: number,
): Record<string, unknown> {
  let masked: Record<string, unknown> | undefined;
  for (const key of Object.keys(properties)) {
    const value = properties[key];
    if (value === undefined) continue;
    let replacement: unknown;
    if (isSensitive(key)) {
      found.add(value);
      replacement = MASK;
    } else {
      replacement = maskValue(value, found, depth);
    }
    if (replacement !== value) {
      masked ??= { ...properties };
      masked[key] = replacement;
    }
  }
  return masked ?? properties;
}

/** `value` with the sensitive properties of any object in it masked (the same when none). */
function maskValue(value: unknown, found: Set<unknown>, depth: number): unknown {
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const replacement = maskValue(item, found, depth + 1);
      if (replacement !== item) {
        copy ??= [...value];
        copy[i] = replacement;
      }
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    return depth >= MAX_DEPTH ? TOO_DEEP : maskObject(value, found, depth + 1);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * LogTape renders placeholders into `message` (template parts and values alternating) before
 * sinks see the record, so the values there are masked again: a sensitive value itself, or an
 * object holding one.
 */
export function maskRecord(record: LogRecord): LogRecord {
  const found = new Set<unknown>();
  const properties = maskSensitive(record.properties, found);
  if (properties === record.properties) return record;
  const message = record.message.map((part, i) => {
    if (i % 2 === 0) return part;
    if (found.has(part)) return MASK;
    return maskValue(part, new Set(), 0);
  });
  return { ...record, properties, message };
}
