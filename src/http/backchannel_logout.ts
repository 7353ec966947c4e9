/**
 * `POST <base_url>/oauth2/backchannel-logout`: the IdP tells us a user logged out (OpenID
 * Connect Back-Channel Logout 1.0, section 2.8). The answer is for a machine: 200 with
 * `no-store` when the token was valid, 503 when the session store could not carry the logout out
 * (unreachable, or failing otherwise: the logout is kept and carried out once the store takes it,
 * bridge/revocation.ts; an IdP that retries sends it again rather than take the token for bad),
 * 400 with a JSON error otherwise; never a page or a redirect, and no detail beyond the error
 * code (the log has it).
 */
import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "@logtape/logtape";
import { LogoutDeferredError } from "../bridge/revocation.ts";
import { LogoutTokenError } from "../oidc/logout_token.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { BACKCHANNEL_LOGOUT_PATH, MAX_REQUEST_BODY_BYTES } from "./routes.ts";
import type { HttpEnv } from "./serve.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";

export interface BackchannelLogoutDeps {
  /**
   * Validates the logout token and ends its sessions; throws LogoutTokenError when invalid,
   * StoreUnavailableError or LogoutDeferredError when the store could not carry it out (it is
   * kept for later).
   */
  logout: (token: string) => Promise<number>;
  log: Logger;
  /** Milliseconds, for the refusal warnings' interval (the app's clock). */
  now: () => number;
}

function answer(status: 200 | 400 | 503, body: Record<string, string> | null): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: {
      "cache-control": "no-store",
      ...(body === null ? {} : { "content-type": "application/json" }),
    },
  });
}

function invalid(description: string): Response {
  return answer(400, { error: "invalid_request", error_description: description });
}

export function registerBackchannelLogout(
  app: Hono<{ Bindings: HttpEnv }>,
  deps: BackchannelLogoutDeps,
): void {
  // The endpoint is public and unauthenticated: anyone can post invalid tokens, so their
  // refusals are warned about once a minute (with how many came in between), at debug between.
  const refusalWarning = new WarningInterval(WARNING_INTERVAL_MS, deps.now);
  app.post(
    BACKCHANNEL_LOGOUT_PATH,
    bodyLimit({ maxSize: MAX_REQUEST_BODY_BYTES, onError: () => invalid("request too large") }),
    async (c) => {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
        return invalid("expected application/x-www-form-urlencoded");
      }
      let tokens: string[];
      try {
        tokens = new URLSearchParams(await c.req.text()).getAll("logout_token");
      } catch {
        return invalid("unreadable body");
      }
      if (tokens.length !== 1 || tokens[0] === "") {
        return invalid("exactly one logout_token is required");
      }
      try {
        await deps.logout(tokens[0]!);
        return answer(200, null);
      } catch (error) {
        if (error instanceof LogoutTokenError) {
          logDue(refusalWarning, deps.log, "warning", "Back-channel logout refused: {error}", {
            error: error.message,
          });
          return invalid("invalid logout_token");
        }
        if (error instanceof StoreUnavailableError || error instanceof LogoutDeferredError) {
          // Revocation logged it, and what it kept.
          deps.log.debug("Back-channel logout deferred: {error}", { error: error.message });
          return answer(503, {
            error: "temporarily_unavailable",
            error_description: "session store unavailable; the logout is carried out later",
          });
        }
        deps.log.error("Back-channel logout failed: {error}", { error: String(error) });
        return answer(400, { error: "server_error", error_description: "logout failed" });
      }
    },
  );
}
