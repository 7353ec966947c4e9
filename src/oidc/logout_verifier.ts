/**
 * Logout tokens checked against the IdP as it is now: keys from the JWKS that discovery names
 * (fetched once, again when a token names an unknown key), and each `jti` accepted once.
 */
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from "jose";
import type { AuthorizationServer } from "oauth4webapi";
import type { ResolvedConfig } from "../config/types.ts";
import {
  LOGOUT_TOKEN_ALGORITHMS,
  type LogoutRequest,
  LogoutTokenError,
  validateLogoutToken,
} from "./logout_token.ts";

/** Logout tokens remembered at most; beyond this the oldest `jti`s are forgotten first. */
export const REPLAY_CACHE_LIMIT = 10_000;

/**
 * Remembers each token id until its token would fail validation anyway (age limit), so that a
 * replay within that window is refused. Bounded: only signed tokens reach it, and forgetting
 * the oldest ids first lets a flood of valid tokens evict only tokens about to expire.
 */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #limit: number;

  constructor(limit = REPLAY_CACHE_LIMIT) {
    this.#limit = limit;
  }

  /** Records `id`; false when it was already recorded and has not expired by `now`. */
  remember(id: string, until: number, now: number): boolean {
    for (const [seen, expiry] of this.#seen) {
      if (expiry >= now) break;
      this.#seen.delete(seen);
    }
    const known = this.#seen.get(id);
    if (known !== undefined && known >= now) return false;
    this.#seen.delete(id);
    this.#seen.set(id, until);
    while (this.#seen.size > this.#limit) {
      this.#seen.delete(this.#seen.keys().next().value!);
    }
    return true;
  }

  /** Forgets `id`: a token whose logout could not be carried out may be presented again. */
  forget(id: string): void {
    this.#seen.delete(id);
  }

  get size(): number {
    return this.#seen.size;
  }
}

export interface LogoutVerifierDeps {
  discover: () => Promise<AuthorizationServer>;
  /**
   * Reads the keys: the OIDC client's `get`, so that the fetch has the same deadline, body cap,
   * slot at the IdP and metrics as every other IdP request, and none is sent once it stopped.
   */
  get: (url: string, headers: Headers) => Promise<Response>;
  now: () => number;
}

/** A valid logout token, its `jti` now refused to any other presentation. */
export interface VerifiedLogout extends LogoutRequest {
  /**
   * Lets the token in again: call it when its logout could not be carried out (the store was
   * unreachable), so that the IdP's retry of the same token is not refused as a replay.
   */
  forget(): void;
}

export type LogoutVerifier = (token: string) => Promise<VerifiedLogout>;

export function createLogoutVerifier(
  config: Pick<
    ResolvedConfig["oidc"],
    "issuer" | "clientId" | "clockToleranceSec" | "httpTimeoutMs"
  >,
  deps: LogoutVerifierDeps,
): LogoutVerifier {
  const replays = new ReplayCache();
  let keys: { uri: string; set: JWTVerifyGetKey } | undefined;

  const keySet = (uri: string): JWTVerifyGetKey => {
    if (keys?.uri !== uri) {
      keys = {
        uri,
        set: createRemoteJWKSet(new URL(uri), {
          timeoutDuration: config.httpTimeoutMs,
          [customFetch]: (url, init) => deps.get(url, init.headers),
        }),
      };
    }
    return keys.set;
  };

  return async (token) => {
    const as = await deps.discover();
    if (!as.jwks_uri) throw new LogoutTokenError("The identity provider names no jwks_uri");
    const advertised = as.id_token_signing_alg_values_supported;
    const algorithms = advertised
      ? LOGOUT_TOKEN_ALGORITHMS.filter((alg) => advertised.includes(alg))
      : LOGOUT_TOKEN_ALGORITHMS;
    const now = deps.now();
    const request = await validateLogoutToken(token, keySet(as.jwks_uri), {
      issuer: as.issuer,
      clientId: config.clientId,
      now,
      clockToleranceSec: config.clockToleranceSec,
      algorithms,
    });
    if (!replays.remember(request.jti, request.replayUntil, now)) {
      throw new LogoutTokenError(`Logout token rejected: "jti" was already used`);
    }
    return { ...request, forget: () => replays.forget(request.jti) };
  };
}
