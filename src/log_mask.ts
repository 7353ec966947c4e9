/**
 * The logs' second line of defence (log.ts): what a record would write of a credential is
 * replaced by `***` before a formatter sees it. Code must not log secrets in the first place;
 * this catches what slips through: a property whose name looks like a credential, at any depth,
 * also in whatever an Error carries (its cause, its properties); the password of a URL in a
 * string.
 */
import type { LogRecord } from "@logtape/logtape";
import { Words } from "./log_words.ts";

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
 * A copy of `properties` with sensitive values replaced by `***`, at any depth (in objects,
 * arrays and Errors; past MAX_DEPTH the value is left out), and the password of each URL in a
 * string masked; the same object when nothing is sensitive. Sensitive values found are added to
 * `found` (the message LogTape rendered holds them too).
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

/** `value` with what is sensitive in it masked (the same value when nothing is). */
function maskValue(value: unknown, found: Set<unknown>, depth: number): unknown {
  if (typeof value === "string") return maskUrlPasswords(value);
  if (value instanceof Words) {
    // Code's words may quote data (a user name), which may hold a URL.
    const text = maskUrlPasswords(value.text);
    const datum = maskUrlPasswords(value.value);
    return text === value.text && datum === value.value ? value : new Words(text, datum);
  }
  if (typeof value !== "object" || value === null) return value;
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
  if (value instanceof Error) {
    return depth >= MAX_DEPTH ? TOO_DEEP : maskError(value, found, depth + 1);
  }
  // Inspect shows a URL's password as a property of its own.
  if (value instanceof URL) return maskUrlPasswords(value.href);
  return value;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function maskError(error: Error, found: Set<unknown>, depth: number): Record<string, unknown> {
  const { code, ...view } = errorView(error);
  const masked = maskObject(view, found, depth);
  // An Error's code says what failed (ECONNREFUSED, invalid_grant), no authorization code.
  return code === undefined ? masked : { ...masked, code: maskValue(code, found, depth) };
}

/**
 * An Error as a plain object, so that what it carries is masked like any other property: its
 * name, message, stack (what makes an unexpected error traceable; text format showed it
 * before), cause, an AggregateError's errors and its own properties (a code, a command). The
 * shape LogTape's JSON formatter gives an Error.
 */
function errorView(error: Error): Record<string, unknown> {
  const view: Record<string, unknown> = { name: error.name, message: error.message };
  if (typeof error.stack === "string") view["stack"] = error.stack;
  if (error.cause !== undefined) view["cause"] = error.cause;
  if (error instanceof AggregateError) view["errors"] = error.errors;
  const own = error as unknown as Record<string, unknown>;
  for (const key of Object.keys(error)) {
    // An own "__proto__" would set the view's prototype: left out, as it was not checked.
    if (!(key in view) && key !== "__proto__") view[key] = own[key];
  }
  return view;
}

/**
 * The schemes whose authority a reader finds without `//`: the URL parser's special ones (http,
 * https, ws, wss, ftp; any case), whose slashes it does not require and whose backslashes it
 * reads as slashes (`https:user:pw@host`, `https:/user:pw@host` and `https:\\user:pw@host` are
 * all `https://user:pw@host/` to it), and redis and rediss (`sessions.url`): a path to the URL
 * parser, but `redis:user:pw@host` is a user, a password and a host to the person who wrote it
 * (and a Redis client that reads a URL without `//` finds credentials there too). The config
 * refuses such a password (redisUrlPasswordProblem reads the same list).
 */
export const SCHEME_WITHOUT_SLASHES = String.raw`(?:https?|wss?|ftp|rediss?):[/\\]*`;

/**
 * Where an authority may begin that user info is read from: after `://` (any scheme), or after
 * SCHEME_WITHOUT_SLASHES as a whole word (`xhttps:` is not one) when the authority follows at
 * once, with no space: prose names a scheme too (`Session store redis: connect ECONNREFUSED
 * 10.0.0.5:6379 (sessions of alice@corp.example kept)` is no URL). Other schemes without `//`
 * (`mailto:a:b@c`) have a path there, no user info.
 */
const AUTHORITY_START = new RegExp(
  String.raw`(?<![A-Za-z0-9+.-])${SCHEME_WITHOUT_SLASHES}(?![/\\\s])|:\/\/`,
  "gi",
);

/**
 * `text` with the password of each URL in it (AUTHORITY_START) as `***`. The authority is read
 * as URL parsers read it: it ends at the first `/`, `?` or `#`, the user info at its last `@`,
 * the user name at the first `:` of the user info; so a password holding `@`, `:` or a space is
 * masked whole. A string without `@` (nearly every one logged) costs one search. Linear in the
 * text: a logged value can be long and chosen by a client. An authority start inside the
 * authority of one before it is not read again: it has the same end and the same last `@`, and
 * its first `:` is no earlier, so the one before masked its password already or it has none.
 */
export function maskUrlPasswords(text: string): string {
  if (!text.includes("@")) return text;
  let masked = "";
  let copied = 0;
  let scannedTo = 0;
  AUTHORITY_START.lastIndex = 0;
  for (
    let match = AUTHORITY_START.exec(text);
    match !== null;
    match = AUTHORITY_START.exec(text)
  ) {
    const start = match.index + match[0].length;
    if (start < scannedTo) continue;
    let colon = -1;
    let at = -1;
    let i = start;
    for (; i < text.length; i++) {
      const char = text[i];
      if (char === "/" || char === "?" || char === "#") break;
      if (char === "@") at = i;
      else if (char === ":" && colon === -1) colon = i;
    }
    scannedTo = i;
    if (colon !== -1 && colon < at) {
      masked += text.slice(copied, colon + 1) + MASK;
      copied = at;
    }
  }
  return copied === 0 ? text : masked + text.slice(copied);
}

/**
 * `record` with what is sensitive masked, in its properties and in its message: LogTape renders
 * placeholders into `message` (template parts and values alternating) before sinks see the
 * record, so a value there is masked again (a sensitive value itself, or an object holding one;
 * a tagged template's values are there only), and a URL's password in the template parts too
 * (code may have built them from a string). `errorsAsText`: an Error in the message is written
 * as `Name: message` (the JSON format, whose properties hold the rest; JSON.stringify writes an
 * Error as `{}`).
 */
export function maskRecord(record: LogRecord, errorsAsText: boolean): LogRecord {
  const found = new Set<unknown>();
  const properties = maskSensitive(record.properties, found);
  // The template parts are the template's (a call with properties) or code's (a tagged one).
  const template = record.rawMessage;
  const templateHasUrl = typeof template !== "string" || template.includes("@");
  let message: unknown[] | undefined;
  for (let i = 0; i < record.message.length; i++) {
    const part = record.message[i];
    let replacement: unknown;
    if (i % 2 === 0) {
      replacement = templateHasUrl && typeof part === "string" ? maskUrlPasswords(part) : part;
    } else if (found.has(part)) {
      replacement = MASK;
    } else if (errorsAsText && part instanceof Error) {
      replacement = maskUrlPasswords(Error.prototype.toString.call(part));
    } else {
      replacement = maskValue(part, found, 0);
    }
    if (replacement !== part) {
      message ??= [...record.message];
      message[i] = replacement;
    }
  }
  if (properties === record.properties && message === undefined) return record;
  return { ...record, properties, message: message ?? record.message };
}
