/**
 * Where a client's sign-in starts: `<base URL>/login/<id>`. The URL is announced to the VPN
 * client inside `WEB_AUTH::<url>`, which a 2.6 client drops silently above 246 characters, so
 * the path and the id are kept short and the base URL's length is checked at config load.
 */
import { isLoopbackHttp } from "../loopback.ts";
import { MAX_WEB_AUTH_EXTRA_CHARS, WEB_AUTH_PREFIX } from "../management/commands.ts";

export const LOGIN_PATH_PREFIX = "/login/";
/** 16 random bytes in base64url: 128 bits. */
export const LOGIN_ID_BYTES = 16;
export const LOGIN_ID_LENGTH = 22;

/** The longest base URL (no trailing slash) whose login URLs still fit in `WEB_AUTH::`. */
const MAX_BASE_URL_LENGTH = MAX_WEB_AUTH_EXTRA_CHARS - WEB_AUTH_PREFIX.length -
  LOGIN_PATH_PREFIX.length - LOGIN_ID_LENGTH;

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
  if (baseUrl.search !== "" || baseUrl.hash !== "") {
    problems.push("Must not contain a query or fragment");
  }
  const length = baseHref(baseUrl).length;
  if (length > MAX_BASE_URL_LENGTH) {
    problems.push(
      `Too long (${length} characters): login URLs must fit OpenVPN's ${MAX_WEB_AUTH_EXTRA_CHARS}-character WEB_AUTH limit, so the base URL may have at most ${MAX_BASE_URL_LENGTH}`,
    );
  }
  return problems;
}
