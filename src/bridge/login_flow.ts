/**
 * The browser side of a login: the confirmation page's data, the redirect to the IdP, and the
 * callback that ends in `client-auth` or `client-deny`. The HTTP routes (src/http/app.ts) only
 * translate between HTTP and these outcomes.
 *
 * The browser is bound to its login by a per-login cookie holding a random value also stored in
 * the pending login; the callback is accepted only with that cookie and the matching `state`,
 * and the pending login is taken atomically, so a state or code works once. Once a browser has
 * begun the sign-in, only that browser (same cookie value) may begin it again: a link that
 * leaked cannot be used to take over a login someone else is finishing.
 */
import type { Logger } from "@logtape/logtape";
import { createHash } from "node:crypto";
import { sameIpAddress } from "../ip_address.ts";
import { secureEqual } from "../secure_compare.ts";
import type { OidcClient } from "../oidc/client.ts";
import { OidcError } from "../oidc/errors.ts";
import { authTokenUserLine } from "../policy/client_config.ts";
import type { PendingLogin, Session, SessionStore } from "../sessions/types.ts";
import { audit } from "../audit.ts";
import { type DenialReason, type Metrics, noMetrics } from "../metrics/port.ts";
import type { CommanderLookup } from "./commander.ts";
import { judge, policyClaims, type PolicyConfig } from "./identity_policy.ts";
import { type SessionLimit, sessionsOverLimit } from "./session_limit.ts";

export interface LoginFlowDeps {
  store: SessionStore;
  /** `startLogin(stateTag)` must begin the state with `<stateTag>.`. */
  oidc: Pick<OidcClient, "startLogin" | "finishLogin">;
  commanders: CommanderLookup;
  /** The policy of the OpenVPN server a login came through. */
  policies: (server: string) => PolicyConfig | undefined;
  sessionLifetimeMs: number;
  checkClientIp: boolean;
  now: () => number;
  log: Logger;
  /** `sessions.max_per_user`; `end` ends the sessions named (SessionEnd, reason max-per-user). */
  sessionLimit?: SessionLimit & { end: (sessionIds: string[]) => Promise<number> };
  /** Counting; nothing counted when left out. */
  metrics?: Metrics;
}

export type BeginOutcome =
  | { kind: "redirect"; url: string }
  | { kind: "expired" }
  | { kind: "error"; status: number; title: string; message: string };

export type CallbackOutcome =
  | { kind: "success"; username: string }
  | { kind: "denied"; code: DenialReason; reason: string }
  | { kind: "expired" }
  | { kind: "error"; status: number; title: string; message: string };

const CLIENT_GONE =
  "Your VPN connection closed before sign-in finished. Reconnect your VPN to try again.";
const UNUSABLE_USERNAME = "Your user name cannot be used with this VPN; contact your administrator";
const OTHER_NETWORK = "Sign-in must happen from the same network as the VPN connection";
const TOO_MANY_SESSIONS =
  "You already have the maximum number of VPN sessions; disconnect one and try again";
const BEGUN_ELSEWHERE =
  "This VPN connection is already being signed in from another browser. If that was not you, " +
  "disconnect your VPN and contact your administrator.";
/** Older pending logins have untagged states: this many cookies are tried for them. */
const UNTAGGED_STATE_COOKIES = 8;

/**
 * What the state carries to name its login: a hash of the login id, not the id itself. The id
 * is the login link (a capability); the IdP sees and may log the state. A 128-bit random id
 * cannot be recovered from its hash.
 */
export function stateTag(loginId: string): string {
  return createHash("sha256").update(`openvpn-auth-oidc state\0${loginId}`).digest("base64url")
    .slice(0, 22);
}

export class LoginFlow {
  readonly #deps: LoginFlowDeps;
  /** Begins of one login run one after another, so the "begun elsewhere" check holds. */
  readonly #beginning = new Map<string, Promise<unknown>>();

  constructor(deps: LoginFlowDeps) {
    this.#deps = deps;
  }

  /** The pending login behind a link, if it is still valid. */
  async view(id: string): Promise<PendingLogin | undefined> {
    const login = await this.#deps.store.getPending(id);
    return login && login.expiresAt > this.#deps.now() ? login : undefined;
  }

  /** Starts the OIDC request for a pending login, bound to the browser's cookie value. */
  begin(id: string, browserBinding: string, browserIp: string): Promise<BeginOutcome> {
    const previous = this.#beginning.get(id) ?? Promise.resolve();
    const run = previous.then(() => this.#begin(id, browserBinding, browserIp));
    const settled = run.catch(() => {});
    this.#beginning.set(id, settled);
    void settled.then(() => {
      if (this.#beginning.get(id) === settled) this.#beginning.delete(id);
    });
    return run;
  }

  async #begin(id: string, browserBinding: string, browserIp: string): Promise<BeginOutcome> {
    const { store, oidc, log } = this.#deps;
    const login = await this.view(id);
    if (!login) return { kind: "expired" };
    if (this.#deps.checkClientIp && !sameIpAddress(browserIp, login.clientIp)) {
      return { kind: "error", status: 403, title: "Wrong network", message: OTHER_NETWORK };
    }
    if (login.oauth && !secureEqual(login.oauth.browserBinding, browserBinding)) {
      log.warning("Login of {commonName} (cid {cid}) refused: begun in another browser", {
        commonName: login.commonName,
        cid: login.cid,
      });
      return {
        kind: "error",
        status: 409,
        title: "Sign-in already started",
        message: BEGUN_ELSEWHERE,
      };
    }
    let start;
    try {
      start = await oidc.startLogin(stateTag(id));
    } catch (error) {
      log.error("Cannot start a login at the identity provider: {error}", { error: String(error) });
      const message = error instanceof OidcError
        ? error.reason
        : "The identity provider is not available";
      return { kind: "error", status: 502, title: "Sign-in unavailable", message };
    }
    await store.putPending({
      ...login,
      oauth: {
        state: start.state,
        nonce: start.nonce,
        codeVerifier: start.codeVerifier,
        browserBinding,
      },
    });
    return { kind: "redirect", url: start.url.href };
  }

  /**
   * Handles the IdP's redirect back. `bindings` are the (login id, cookie value) pairs the
   * browser presented; the state names the login being finished (`<stateTag(id)>.<random>`),
   * so only that login's cookie is looked at, however many the browser holds.
   */
  async complete(
    callbackUrl: URL,
    bindings: ReadonlyArray<readonly [string, string]>,
    browserIp: string,
  ): Promise<CallbackOutcome> {
    const { store, log } = this.#deps;
    const state = callbackUrl.searchParams.get("state");
    if (!state) {
      return {
        kind: "error",
        status: 400,
        title: "Invalid sign-in response",
        message: "The response has no state",
      };
    }
    if (bindings.length === 0) {
      return {
        kind: "error",
        status: 400,
        title: "Sign-in cookie missing",
        message:
          "Finish signing in in the browser that opened the sign-in link, with cookies enabled.",
      };
    }
    const tag = state.includes(".") ? state.slice(0, state.indexOf(".")) : undefined;
    const candidates = tag === undefined
      ? bindings.slice(0, UNTAGGED_STATE_COOKIES)
      : bindings.filter(([id]) => stateTag(id) === tag);
    let matched: PendingLogin | undefined;
    for (const [id, binding] of candidates) {
      const login = await this.view(id);
      if (
        login?.oauth && secureEqual(login.oauth.state, state) &&
        secureEqual(login.oauth.browserBinding, binding)
      ) {
        matched = login;
        break;
      }
    }
    // A used, expired, forged or foreign state all look the same to the user.
    const login = matched && (await store.takePending(matched.id));
    if (!login?.oauth) return { kind: "expired" };
    const commander = this.#deps.commanders(login.server);
    const policy = this.#deps.policies(login.server);
    if (!commander || !policy) {
      log.error("Login for unknown OpenVPN server {server}", { server: login.server });
      return { kind: "error", status: 500, title: "Sign-in failed", message: CLIENT_GONE };
    }
    const metrics = (this.#deps.metrics ?? noMetrics).server(login.server);
    const who = {
      server: login.server,
      cid: login.cid,
      commonName: login.commonName,
      clientIp: login.clientIp,
      username: "",
      subject: "",
    };
    const deny = async (
      logReason: string,
      reason: string,
      code: DenialReason,
      identity?: { username: string; subject: string },
    ): Promise<CallbackOutcome> => {
      log.info("Login of {commonName} (cid {cid}) denied: {logReason}", {
        commonName: login.commonName,
        cid: login.cid,
        logReason,
      });
      await commander.deny(login.cid, login.kid, logReason, reason).catch(() => {});
      metrics.login(code === "idp_error" ? "error" : "denied");
      metrics.denial(code);
      audit("denied", { ...who, ...identity }, code);
      return { kind: "denied", code, reason };
    };
    if (this.#deps.checkClientIp && !sameIpAddress(browserIp, login.clientIp)) {
      return await deny("browser ip mismatch", OTHER_NETWORK, "wrong_network");
    }

    let result;
    try {
      result = await this.#deps.oidc.finishLogin(callbackUrl, login.oauth);
    } catch (error) {
      if (error instanceof OidcError) {
        log.warning("Login of {commonName} (cid {cid}) failed at the identity provider: {error}", {
          commonName: login.commonName,
          cid: login.cid,
          error: error.message,
        });
        return await deny(error.code, error.reason, "idp_error");
      }
      await commander.deny(login.cid, login.kid, "internal error", "Sign-in failed; try again")
        .catch(() => {});
      metrics.login("error");
      metrics.denial("internal_error");
      throw error;
    }
    const verdict = judge(result.claims, login.commonName, policy);
    const known = { username: "", subject: result.subject };
    if (!verdict.allow) return await deny(verdict.logReason, verdict.reason, verdict.code, known);

    const { identity } = verdict;
    const lines = [...verdict.lines];
    if (login.username === "") {
      // OpenVPN's token needs a user name when the client sent none; one we cannot push
      // (too long for the client, control characters) would break every renegotiation.
      try {
        lines.push(authTokenUserLine(identity.username));
      } catch {
        return await deny(
          "username unusable for auth-token-user",
          UNUSABLE_USERNAME,
          "username_unusable",
          { ...known, username: identity.username },
        );
      }
    }
    const now = this.#deps.now();
    const session: Session = {
      sessionId: login.sessionId,
      server: login.server,
      cid: login.cid,
      commonName: login.commonName,
      username: identity.username,
      groups: identity.groups,
      roles: identity.roles,
      claims: policyClaims(result.claims, policy),
      subject: result.subject,
      sid: result.sid,
      clientIp: login.clientIp,
      refreshToken: result.refreshToken,
      refreshExpiresAt: result.refreshExpiresAt,
      // A client that sent a user name will present OpenVPN's token when it reconnects.
      resumable: login.username !== "",
      createdAt: now,
      lastAuthAt: now,
      expiresAt: now + this.#deps.sessionLifetimeMs,
    };
    const limit = this.#deps.sessionLimit;
    const excess = limit
      ? sessionsOverLimit(
        (await store.findSessionsBySubject(session.subject))
          .filter((other) => other.sessionId !== session.sessionId),
        limit.maxPerUser,
      )
      : [];
    if (excess.length > 0 && limit?.action === "deny_new") {
      return await deny("sessions.max_per_user reached", TOO_MANY_SESSIONS, "max_sessions", {
        username: identity.username,
        subject: result.subject,
      });
    }
    // Stored before client-auth, so a REAUTH that races the answer finds it.
    if (session.sessionId) await store.putSession(session);
    try {
      await commander.auth(login.cid, login.kid, lines);
    } catch (error) {
      log.warning("client-auth for {username} (cid {cid}) failed: {error}", {
        username: identity.username,
        cid: login.cid,
        error: String(error),
      });
      if (session.sessionId) await store.deleteSession(session.sessionId);
      metrics.login("error");
      return { kind: "error", status: 410, title: "VPN connection closed", message: CLIENT_GONE };
    }
    metrics.login("admitted");
    audit("admitted", { ...who, username: identity.username, subject: result.subject });
    log.info("Login of {username} (cid {cid}, certificate {commonName}) accepted", {
      username: identity.username,
      cid: login.cid,
      commonName: login.commonName,
    });
    if (excess.length > 0) {
      log.info(
        "{username} is over sessions.max_per_user ({max}): ending {count} oldest session(s)",
        {
          username: identity.username,
          max: limit!.maxPerUser,
          count: excess.length,
        },
      );
      await limit!.end(excess.map((old) => old.sessionId));
    }
    return { kind: "success", username: identity.username };
  }
}
