/** The bridge's public paths besides the login path (see bridge/login_url.ts). */
import { baseHref } from "../bridge/login_url.ts";

export const CALLBACK_PATH = "/oauth2/callback";
/** Where the IdP posts logout tokens (its "Backchannel logout URL"). */
export const BACKCHANNEL_LOGOUT_PATH = "/oauth2/backchannel-logout";
export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";

export function callbackUrl(baseUrl: URL): string {
  return `${baseHref(baseUrl)}${CALLBACK_PATH}`;
}

/**
 * The largest request body any route takes: a back-channel logout token (a JWT of up to about
 * 2 KiB, with room to spare); the pages' forms take far less. The listener reads no more of a
 * body than this before the request counts as started (serve.ts), and answers 413 beyond it.
 */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;
/** The largest body a page's form may send (Continue posts a few short fields): 413 beyond. */
export const MAX_FORM_BODY_BYTES = 4096;
