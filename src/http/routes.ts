/**
 * The bridge's public paths. The login URL is announced to the VPN client inside
 * `WEB_AUTH::<url>`, which a 2.6 client drops silently above 246 characters, so the path and
 * the id are kept short and their lengths are known at config load.
 */
export const LOGIN_PATH_PREFIX = "/login/";
/** 16 random bytes in base64url: 128 bits. */
export const LOGIN_ID_BYTES = 16;
export const LOGIN_ID_LENGTH = 22;
export const CALLBACK_PATH = "/oauth2/callback";
export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";

/** The `WEB_AUTH::` prefix plus URL must fit in this many characters (OpenVPN 2.6 client). */
export const WEB_AUTH_MAX = 246;
export const WEB_AUTH_PREFIX = "WEB_AUTH::";

/** The longest base URL (no trailing slash) whose login URLs still fit `WEB_AUTH_MAX`. */
export const MAX_BASE_URL_LENGTH = WEB_AUTH_MAX - WEB_AUTH_PREFIX.length -
  LOGIN_PATH_PREFIX.length - LOGIN_ID_LENGTH;

export function loginUrl(baseUrl: URL, id: string): string {
  return `${baseHref(baseUrl)}${LOGIN_PATH_PREFIX}${id}`;
}

export function callbackUrl(baseUrl: URL): string {
  return `${baseHref(baseUrl)}${CALLBACK_PATH}`;
}

/** The base URL as text without a trailing slash. */
export function baseHref(baseUrl: URL): string {
  return baseUrl.href.replace(/\/+$/, "");
}
