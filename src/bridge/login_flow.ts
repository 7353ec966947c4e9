/**
 * The browser side of a login: the confirmation page's data, the redirect to the IdP, and the
 * callback that ends in `client-auth` or a refusal (refusal.ts). The HTTP routes
 * (src/http/app.ts) only translate between HTTP and these outcomes.
 *
 * The browser is bound to its login by a per-login cookie holding a random value also stored in
 * the pending login; the callback is accepted only with that cookie and the matching `state`,
 * and the pending login is taken atomically, so a state or code works once. Once a browser has
 * begun the sign-in, only that browser (same cookie value) may begin it again: a link that
 * leaked cannot be used to take over a login someone else is finishing.
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import { createHash } from "node:crypto";
import { sameIpAddress } from "../ip_address.ts";
import { isLoopbackAddress } from "../loopback.ts";
import { loggedCertificateName } from "../logged_certificate.ts";
import { secureEqual } from "../secure_compare.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import type { OidcClient } from "../oidc/client.ts";
import { OidcError } from "../oidc/errors.ts";
import type { PendingLogin, SessionStore } from "../sessions/types.ts";
import type { Admission } from "./admission.ts";
import type { CommanderLookup } from "./commander.ts";
import type { DenialReason } from "../metrics/port.ts";
import { type Denial, idpDenial, INTERNAL_ERROR, WRONG_NETWORK } from "./denial.ts";

export interface LoginFlowDeps {
  store: SessionStore;
  /** `startLogin(stateTag)` must begin the state with `<stateTag>.` (complete() needs it). */
  oidc: Pick<OidcClient, "finishLogin" | "startLogin">;
  commanders: CommanderLookup;
  admission: Pick<Admission, "admitLogin" | "denySignIn" | "signInTaking">;
  checkClientIp: boolean;
  /**
   * http.trusted_proxies (live): a browser address that is one of them, or loopback, is a
   * reverse proxy that forwarded no X-Forwarded-For. Default none.
   */
  isTrustedProxy?: (ip: string) => boolean;
  now: () => number;
  log: Logger;
}

const WRONG_NETWORK_LINE = "Sign-in of {commonName} (cid {cid}) not begun: the browser's " +
  "address {browserIp} is not the VPN client's {clientIp} (http.check_client_ip); nothing was " +
  "sent to OpenVPN, the client waits until auth_pending_timeout";
/** After the address a wrong-network refusal names when that address is a proxy's own. */
const PROXY_HINT = "is this host or a trusted proxy: the reverse proxy must send " +
  "X-Forwarded-For, and be in http.trusted_proxies";

/**
 * Where a login stands, in the bridge's terms; the web layer (src/http/app.ts) picks the status
 * code and page for each.
 */
export type BeginOutcome =
  | { kind: "redirect"; url: string }
  | { kind: "expired" }
  | { kind: "wrong-network" }
  /** Another browser has begun this sign-in; only that one may go on. */
  | { kind: "begun-elsewhere" }
  | { kind: "idp-unavailable" };

export type CallbackOutcome =
  & (
    | { kind: "admitted"; username: string }
    | { kind: "denied"; code: DenialReason; reason: string }
    | { kind: "expired" }
    /** The IdP's redirect carries no `state`. */
    | { kind: "invalid-response" }
    /**
     * The browser sent no cookie of the login the state names: another browser, or cookies off.
     * A browser still holding another, abandoned sign-in's cookie is told the same.
     */
    | { kind: "cookie-missing" }
    /**
     * The browser's cookie for that login says it ended ({@link FINISHED_MARK}): the callback
     * page reloaded after the sign-in was answered. Nothing is taken or sent.
     */
    | { kind: "finished" }
    /** OpenVPN no longer knows the client (it left). */
    | { kind: "client-gone" }
    /** The instance holding OpenVPN's link (`[cluster]`) did not confirm client-auth in time. */
    | { kind: "no-answer" }
  )
  & {
    /**
     * The login this callback took out of the store, whatever came of it: only its cookie is
     * done with. A callback that matched none (used, forged, another login's) leaves every
     * cookie alone, or one followed by any site would end the sign-ins in progress.
     */
    loginId?: string;
    /** When that login would have expired: how long its cookie is worth keeping. */
    loginExpiresAt?: number;
  };

/**
 * What a finished sign-in's cookie holds instead of its binding (its browser's callback page may
 * be reloaded: a restored tab, a reload). Never a binding: too short for the web layer's binding
 * pattern, which replaces it with a fresh one, and never compared with a stored binding here.
 */
export const FINISHED_MARK = "done";

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
  /** Continue refused by http.check_client_ip: logged at info once a minute, at debug between. */
  readonly #wrongNetworkLog: WarningInterval;

  constructor(deps: LoginFlowDeps) {
    this.#deps = deps;
    this.#wrongNetworkLog = new WarningInterval(WARNING_INTERVAL_MS, deps.now);
  }

  /**
   * The pending login behind a link, if it is still valid: not expired, and for an OpenVPN
   * server this configuration has. A login recorded under a server since removed from the
   * configuration (kept in a file store across a restart, or in a store shared with instances
   * configured otherwise) cannot be answered here: its link is expired, before the user is sent
   * to the IdP, and nothing downstream (policy, metrics) ever sees that server's name.
   */
  async view(id: string): Promise<PendingLogin | undefined> {
    const { store, now, commanders, log } = this.#deps;
    const login = await store.getPending(id);
    if (!login || login.expiresAt <= now()) return undefined;
    if (commanders(login.server) === undefined) {
      log.warning(
        "Login link of {commonName} (cid {cid}) is for OpenVPN server {server}, which this configuration does not have",
        {
          commonName: loggedCertificateName(login.commonName),
          cid: login.cid,
          server: login.server,
        },
      );
      return undefined;
    }
    return login;
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
      this.#logWrongNetwork(login, browserIp);
      return { kind: "wrong-network" };
    }
    if (this.#begunElsewhere(login, browserBinding)) return { kind: "begun-elsewhere" };
    let start;
    try {
      start = await oidc.startLogin(stateTag(id));
    } catch (error) {
      log.error("Cannot start a login at the identity provider: {error}", { error: String(error) });
      return { kind: "idp-unavailable" };
    }
    const begun = await store.updatePending({
      ...login,
      oauth: {
        state: start.state,
        nonce: start.nonce,
        codeVerifier: start.codeVerifier,
        browserBinding,
      },
    });
    if (!begun) {
      // Begun meanwhile by another browser (on another instance sharing the store: this
      // process's per-login queue does not see it), or gone while the request was prepared (the
      // client went away, the link expired: a put would have brought it back, a sign-in for a
      // client nobody waits for).
      const now = await this.view(id);
      if (now !== undefined && this.#begunElsewhere(now, browserBinding)) {
        return { kind: "begun-elsewhere" };
      }
      return { kind: "expired" };
    }
    return { kind: "redirect", url: start.url.href };
  }

  /**
   * Continue from another address than the VPN client's: only the browser is refused. OpenVPN is
   * told nothing, since whoever opens the link (a stranger it was sent to) must not end the real
   * user's sign-in, which the right browser may still finish. Anyone holding a link can repeat
   * this, so the line is rate-limited.
   */
  #logWrongNetwork(login: PendingLogin, browserIp: string): void {
    const hint = this.#proxyHint(browserIp);
    const line = WRONG_NETWORK_LINE + (hint === undefined ? "" : "; {hint}");
    const properties = {
      commonName: loggedCertificateName(login.commonName),
      cid: login.cid,
      browserIp,
      clientIp: login.clientIp,
      hint: hint === undefined ? undefined : words(hint),
    };
    logDue(this.#wrongNetworkLog, this.#deps.log, "info", line, properties);
  }

  /**
   * What a wrong-network refusal's log line adds when the browser's address is loopback or a
   * trusted proxy's own: a proxy that did not forward the browser's, so every sign-in through it
   * is refused so. Undefined for any other address.
   */
  #proxyHint(browserIp: string): string | undefined {
    const { isTrustedProxy } = this.#deps;
    const proxy = isLoopbackAddress(browserIp) || (isTrustedProxy?.(browserIp) ?? false);
    return proxy ? `${JSON.stringify(browserIp)} ${PROXY_HINT}` : undefined;
  }

  #begunElsewhere(login: PendingLogin, browserBinding: string): boolean {
    if (!login.oauth || secureEqual(login.oauth.browserBinding, browserBinding)) return false;
    this.#deps.log.warning(
      "Sign-in on cid {cid} (certificate {commonName}) refused: begun in another browser",
      {
        commonName: loggedCertificateName(login.commonName),
        cid: login.cid,
      },
    );
    return true;
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
    const { store } = this.#deps;
    const state = callbackUrl.searchParams.get("state");
    if (!state) return { kind: "invalid-response" };
    if (bindings.length === 0) return { kind: "cookie-missing" };
    // Every state begin() has made is tagged (startLogin(stateTag(id))), and one begun by a
    // build from before tags cannot finish here: it has no OpenVPN run either, and such sign-ins
    // end when this one starts (README). One without a tag names no login.
    const dot = state.indexOf(".");
    const tag = dot < 0 ? undefined : state.slice(0, dot);
    const candidates = bindings.filter(([id]) => stateTag(id) === tag);
    // The cookies are another sign-in's: the one the state names may still be pending, and
    // finishable in the browser that began it, so "expired, reconnect" would be wrong.
    if (candidates.length === 0) return { kind: "cookie-missing" };
    const live = candidates.filter(([, binding]) => binding !== FINISHED_MARK);
    if (live.length === 0) return { kind: "finished" };
    let matched: PendingLogin | undefined;
    for (const [id, binding] of live) {
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
    const login = matched && (await this.#take(matched));
    if (!login?.oauth) return { kind: "expired" };
    if (!secureEqual(login.oauth.state, state)) {
      // The same browser pressed Continue again (another tab) between the match and the take:
      // the login now waits for that newer attempt's callback, and this older one is over.
      // Finished with the newer state, it would fail at the IdP's check and deny the client.
      await store.putPending(login).catch((error) =>
        this.#deps.log.warning("Could not keep the login of {commonName} (cid {cid}): {error}", {
          commonName: loggedCertificateName(login.commonName),
          cid: login.cid,
          error: String(error),
        })
      );
      return { kind: "expired" };
    }
    return {
      ...await this.#finish(login, login.oauth, callbackUrl, browserIp),
      loginId: login.id,
      loginExpiresAt: login.expiresAt,
    };
  }

  /**
   * Takes `login` from the store for this callback to answer, telling its server's link first:
   * its deadline, should it find the login gone meanwhile, leaves it to this callback (the take's
   * reply is decrypted after Redis answered, and the deadline's delete may be answered between).
   * A take that found nothing, or failed, is undone: nobody here answers that sign-in.
   */
  async #take(login: PendingLogin): Promise<PendingLogin | undefined> {
    const undo = this.#deps.admission.signInTaking(login);
    let taken: PendingLogin | undefined;
    try {
      taken = await this.#deps.store.takePending(login.id);
    } finally {
      if (taken === undefined) undo();
    }
    return taken;
  }

  async #finish(
    login: PendingLogin,
    oauth: NonNullable<PendingLogin["oauth"]>,
    callbackUrl: URL,
    browserIp: string,
  ): Promise<CallbackOutcome> {
    const { log } = this.#deps;
    // Matched through view(), so its server is known.
    const commander = this.#deps.commanders(login.server);
    if (!commander) return { kind: "expired" };
    const client = {
      ...login,
      kind: "login" as const,
      signIn: { loginId: login.id, openvpnRun: login.openvpnRun },
      browserIp,
    };
    const deny = async (denial: Denial): Promise<CallbackOutcome> => {
      // Held for the link when it is down, and sent once it is back (Admission.denySignIn).
      await this.#deps.admission.denySignIn(commander, client, denial);
      return { kind: "denied", code: denial.code, reason: denial.reason };
    };
    if (this.#deps.checkClientIp && !sameIpAddress(browserIp, login.clientIp)) {
      // Continue passed, so the browser moved, or the proxy forwards this path otherwise.
      return await deny({ ...WRONG_NETWORK, hint: this.#proxyHint(browserIp) });
    }

    let result;
    try {
      result = await this.#deps.oidc.finishLogin(callbackUrl, { ...oauth, since: login.createdAt });
    } catch (error) {
      if (error instanceof OidcError) {
        log.warning(
          "Sign-in on cid {cid} (certificate {commonName}) failed at the identity provider: {error}",
          {
            commonName: loggedCertificateName(login.commonName),
            cid: login.cid,
            error: error.message,
          },
        );
        return await deny(idpDenial(error, "idp_error"));
      }
      await deny(INTERNAL_ERROR);
      throw error;
    }
    const admitted = await this.#deps.admission.admitLogin(
      { client, sessionId: login.sessionId, result },
      commander,
    );
    if (admitted.kind !== "denied") return admitted;
    return { kind: "denied", code: admitted.denial.code, reason: admitted.denial.reason };
  }
}
