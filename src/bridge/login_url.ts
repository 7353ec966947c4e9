/**
 * Where a client's sign-in starts: `<base URL>/login/<id>`. The URL is announced to the VPN
 * client inside `WEB_AUTH:<flags>:<url>`, which a 2.6 client drops silently above 246
 * characters, so the path and the id are kept short and the base URL's length is checked at
 * config load, with each server's flags, by building the longest login URL's extra.
 */
import { Buffer } from "node:buffer";
import { isLoopbackHttp } from "../loopback.ts";
import {
  ManagementArgumentError,
  MAX_WEB_AUTH_EXTRA_CHARS,
  maxWebAuthUrlLength,
  webAuthExtra,
} from "../management/commands.ts";
import { randomToken } from "../random_token.ts";

export const LOGIN_PATH_PREFIX = "/login/";

/**
 * A login id is a time part, then 16 random bytes (128 bits) in base64url: the random part makes
 * the link unguessable; the time part is no secret. It is the clock's milliseconds (30 bits,
 * wrapping every 12.4 days), so ids made close together share a prefix and the file store's
 * index of pending logins takes a turn's new rows in a leaf or two, instead of one leaf per row
 * for random ids (a CONNECT storm's inserts cost about half; bench/README.md).
 */
const RANDOM_BYTES = 16;
const RANDOM_CHARS = Math.ceil((RANDOM_BYTES * 8) / 6);
const TIME_CHARS = 5;
const TIME_BITS = 6 * TIME_CHARS;
const LOGIN_ID_LENGTH = TIME_CHARS + RANDOM_CHARS;
/** Ids made before the time part are the random part alone: pending logins kept in a store. */
const LOGIN_ID = new RegExp(`^(?:[A-Za-z0-9_-]{${TIME_CHARS}})?[A-Za-z0-9_-]{${RANDOM_CHARS}}$`);

export function newLoginId(nowMs: number): string {
  const time = Math.floor(nowMs) % 2 ** TIME_BITS;
  // The time's 30 bits at the top of 32, so that the first five base64url characters hold them.
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(time * 2 ** (32 - TIME_BITS));
  return bytes.toString("base64url").slice(0, TIME_CHARS) + randomToken(RANDOM_BYTES);
}

/** Whether `text` has the shape of a login id, of this version or of an earlier one. */
export function isLoginId(text: string): boolean {
  return LOGIN_ID.test(text);
}

/** A login id of the longest shape, for measuring the longest login URL. */
const LONGEST_LOGIN_ID = "A".repeat(LOGIN_ID_LENGTH);

export function loginUrl(baseUrl: URL, id: string): string {
  return `${baseHref(baseUrl)}${LOGIN_PATH_PREFIX}${id}`;
}

/** The base URL as text without a trailing slash. */
export function baseHref(baseUrl: URL): string {
  return baseUrl.href.replace(/\/+$/, "");
}

/** Why `baseUrl` cannot serve as the public base of login URLs; empty when it can. */
export function baseUrlProblems(baseUrl: URL): string[] {
  const problems: string[] = [];
  if (baseUrl.protocol !== "https:" && !isLoopbackHttp(baseUrl)) {
    problems.push(
      `The base URL must use https:// (http:// is allowed only for loopback hosts), got "${
        baseHref(baseUrl)
      }"`,
    );
  }
  if (baseUrl.username !== "" || baseUrl.password !== "") {
    problems.push("The base URL must not contain credentials");
  }
  // Not search and hash: they are "" for a bare "?" or "#", which the href (and so every login
  // link, ".../#/login/<id>") keeps.
  if (/[?#]/.test(baseUrl.href)) {
    problems.push("Must not contain a query or fragment");
  }
  const tooLong = baseUrlTooLong(baseUrl, []);
  if (tooLong !== undefined) {
    problems.push(
      `Too long (${tooLong.length} characters): login URLs must fit OpenVPN's ${MAX_WEB_AUTH_EXTRA_CHARS}-character WEB_AUTH limit, so the base URL may have at most ${tooLong.most}`,
    );
  }
  return problems;
}

/**
 * When login URLs under `baseUrl` would not reach the client in a `WEB_AUTH` extra with `flags`:
 * the base URL's length and the most it may have with these flags; undefined when they fit. Asks
 * the command module with the longest login URL, so that a base URL the config accepts can
 * always be sent.
 */
export function baseUrlTooLong(
  baseUrl: URL,
  flags: readonly string[],
): { length: number; most: number } | undefined {
  try {
    webAuthExtra(loginUrl(baseUrl, LONGEST_LOGIN_ID), flags);
    return undefined;
  } catch (error) {
    if (!(error instanceof ManagementArgumentError) || error.code !== "too-long") throw error;
  }
  return {
    length: baseHref(baseUrl).length,
    most: maxWebAuthUrlLength(flags) - LOGIN_PATH_PREFIX.length - LOGIN_ID_LENGTH,
  };
}
