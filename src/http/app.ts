/**
 * The HTTP routes: the login link, the confirmation form, the IdP callback, health and
 * readiness. Routes translate HTTP to LoginFlow calls and outcomes to pages; the flow itself
 * lives in src/bridge/login_flow.ts.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { generateCookie, getCookie } from "hono/cookie";
import { createHmac } from "node:crypto";
import { secureEqual } from "../secure_compare.ts";
import type { Logger } from "@logtape/logtape";
import {
  type BeginOutcome,
  type CallbackOutcome,
  FINISHED_MARK,
  type LoginFlow,
} from "../bridge/login_flow.ts";
import type { Secret } from "../config/secret.ts";
import { clientIp, FORWARDING_HEADERS, seesReadyDetails, trustedProxies } from "./client_ip.ts";
import { type BackchannelLogoutDeps, registerBackchannelLogout } from "./backchannel_logout.ts";
import type { Language } from "../config/languages.ts";
import {
  type ErrorKind,
  type LocalizedPages,
  PAGE_TEXT,
  type Pages,
  type PageText,
  pickLanguage,
} from "./pages/mod.ts";
import { baseHref, isLoginId, LOGIN_PATH_PREFIX } from "../bridge/login_url.ts";
import { CALLBACK_PATH, HEALTH_PATH, MAX_FORM_BODY_BYTES, READY_PATH } from "./routes.ts";
import type { HttpEnv } from "./serve.ts";
import { securityHeaders } from "./security_headers.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { addressGroup, canonicalIpBytes } from "../ip_address.ts";

export interface Readiness {
  /**
   * Every OpenVPN server's management link is up; in a cluster, every server whose lease this
   * instance holds (the others' links are other instances' to keep).
   */
  management: boolean;
  /** Each such server's management link, by server name (in a cluster, leased servers only). */
  servers: Record<string, boolean>;
  idp: boolean;
  /** With `[cluster]`: this instance and the servers whose lease it holds. */
  cluster?: { instance: string; leases: string[] };
}

export interface AppDeps {
  flow: Pick<LoginFlow, "view" | "begin" | "complete">;
  pages: LocalizedPages;
  /** Pages' language when Accept-Language names none we have. */
  defaultLanguage: Language;
  baseUrl: URL;
  secret: Secret;
  confirmLogin: boolean;
  trustedProxies: readonly string[];
  /** Origins the confirm form may redirect to: the IdP's (a function: known after discovery). */
  formActionOrigins: readonly string[] | (() => readonly string[]);
  now: () => number;
  /** A fresh random base64url token (browser binding). */
  randomToken: () => string;
  readiness: () => Readiness;
  /** Ends the sessions a logout token names; absent, the route does not exist. */
  backchannelLogout?: BackchannelLogoutDeps["logout"];
  log: Logger;
}

/**
 * A cookie value we issued (`randomToken`): anything else, FINISHED_MARK included, is replaced
 * by a fresh one.
 */
const BINDING = /^[A-Za-z0-9_-]{8,128}$/;
const COOKIE_PREFIX = "oao-";
/**
 * The query parameter marking the return from the page that set the cookie (confirm_login =
 * false): still without the cookie there, the browser does not keep it, and is told so instead
 * of being sent round again.
 */
const CAME_BACK = "b";
/**
 * The session store down or slow (StoreUnavailableError from a sign-in page's read, update or
 * take) is a 503 asking for a reload in a minute, not a 500 asking to reconnect: a failed call
 * changed nothing (one that timed out but was applied after all shows on the reload), so the
 * login still waits and the IdP's code is unspent, while reconnecting would throw the login
 * away. Any well-formed login id reaches the store, so the outage is warned about once a minute
 * (with how many came in between), not once a request.
 */
const STORE_RETRY_AFTER_SEC = 60;

type Env = { Bindings: HttpEnv };
type RequestHeaders = { req: { header(name: string): string | undefined } };

export function createApp(deps: AppDeps): Hono<Env> {
  const https = deps.baseUrl.protocol === "https:";
  const cookiePrefix = (https ? "__Host-" : "") + COOKIE_PREFIX;
  const isTrusted = trustedProxies(deps.trustedProxies);
  // As bytes: node:crypto would convert a string key again for every HMAC.
  const csrfKey = new TextEncoder().encode(deps.secret.reveal());
  const csrfFor = (id: string, binding: string) =>
    createHmac("sha256", csrfKey).update(`confirm\0${id}\0${binding}`).digest("base64url");
  const browserIp = (c: { env: HttpEnv; req: { header(name: string): string | undefined } }) =>
    clientIp(c.env?.remoteAddr ?? "", c.req.header("x-forwarded-for"), isTrusted);
  /** A page in the language the browser asks for. */
  const html = (
    c: RequestHeaders,
    render: (pages: Pages, t: PageText) => string,
    status: number,
  ) => {
    const language = pickLanguage(c.req.header("accept-language"), deps.defaultLanguage);
    const t = PAGE_TEXT[language];
    return new Response(render(deps.pages.byLanguage[language], t), {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-language": t.tag,
        vary: "Accept-Language",
      },
    });
  };
  const expired = (c: RequestHeaders) => html(c, (pages) => pages.expired(), 404);
  const finished = (c: RequestHeaders) => html(c, (pages) => pages.finished(), 200);
  const errorPage = (c: RequestHeaders, status: number, kind: ErrorKind) =>
    html(c, (pages, t) => pages.error({ status, ...t.errors[kind] }), status);
  /** A login's cookie: every value it takes lives as long as the login's link. */
  const loginCookie = (id: string, value: string, expiresAt: number) =>
    generateCookie(cookiePrefix + id, value, {
      path: "/",
      httpOnly: true,
      secure: https,
      sameSite: "Lax",
      maxAge: Math.max(1, Math.ceil((expiresAt - deps.now()) / 1000)),
    });
  /**
   * A login no longer in the store. A browser whose cookie for it holds FINISHED_MARK saw the
   * callback answer it: its Back to the confirm page, or Continue in a tab left open, is told
   * the sign-in is finished, where "expired, reconnect" or "opened elsewhere" would be false (a
   * connected user might drop a working tunnel). Without the mark it is expired.
   */
  const gone = (c: Context<Env>, id: string) =>
    getCookie(c, cookiePrefix + id) === FINISHED_MARK ? finished(c) : expired(c);
  const storeWarning = new WarningInterval(WARNING_INTERVAL_MS, deps.now);
  const storeUnavailable = (c: RequestHeaders, error: StoreUnavailableError) => {
    logDue(storeWarning, deps.log, "warning", "Sign-in page not served: {error}", {
      error: error.message,
    });
    const response = errorPage(c, 503, "store-unavailable");
    response.headers.set("retry-after", String(STORE_RETRY_AFTER_SEC));
    return response;
  };

  const app = new Hono<Env>();
  app.use(securityHeaders({
    https,
    formActionOrigins: deps.formActionOrigins,
    styleSources: deps.pages.styleSources,
  }));
  // Before the page-sized body limit: it has its own, and answers in JSON.
  if (deps.backchannelLogout) {
    registerBackchannelLogout(app, {
      logout: deps.backchannelLogout,
      log: deps.log,
      now: deps.now,
    });
  }
  app.use(
    bodyLimit({
      maxSize: MAX_FORM_BODY_BYTES,
      onError: (c) => errorPage(c, 413, "too-large"),
    }),
  );

  app.get(HEALTH_PATH, (c) => c.text("ok"));
  app.get(READY_PATH, (c) => {
    const state = deps.readiness();
    const ready = state.management && state.idp;
    // The servers' names and links, the instance and its leases are for this host and the
    // trusted proxies' own health checks; a browser learns only the verdict.
    const forwarded = FORWARDING_HEADERS.some((name) => c.req.header(name) !== undefined);
    const detailed = seesReadyDetails(browserIp(c), forwarded, isTrusted);
    return c.json(detailed ? { ready, ...state } : { ready }, ready ? 200 : 503);
  });

  app.get(`${LOGIN_PATH_PREFIX}:id`, async (c) => {
    const id = c.req.param("id");
    if (!isLoginId(id)) return expired(c);
    const login = await deps.flow.view(id);
    if (!login) return gone(c, id);
    // A browser that opens its link again keeps its binding: it may still continue the login
    // it began, while another browser may not (LoginFlow.begin).
    const held = getCookie(c, cookiePrefix + id);
    const bound = held !== undefined && BINDING.test(held);
    const binding = bound ? held : deps.randomToken();
    const bindingCookie = loginCookie(id, binding, login.expiresAt);
    const actionUrl = `${baseHref(deps.baseUrl)}${LOGIN_PATH_PREFIX}${id}`;
    if (!deps.confirmLogin) {
      // Hono answers HEAD with the GET handler: a link checker's HEAD must not begin the login
      // (it would bind it to the checker, and the user would find it taken).
      if (c.req.method === "HEAD") return c.body(null, 200);
      if (!bound) {
        // Nor may a link preview's or mail scanner's GET (Slack, Teams, Safe Links): they keep
        // no cookies, so only a GET that comes back with the cookie set here begins the login.
        const page = c.req.query(CAME_BACK) === undefined
          ? html(c, (pages) => pages.proceed({ url: `${actionUrl}?${CAME_BACK}=1` }), 200)
          : errorPage(c, 400, "cookie-missing");
        return withCookies(page, [bindingCookie]);
      }
      const outcome = await deps.flow.begin(id, binding, browserIp(c));
      return withCookies(answerBegin(c, outcome), [bindingCookie]);
    }
    const confirm = {
      commonName: login.commonName,
      clientIp: login.clientIp,
      browserIp: browserOnOtherNetwork(browserIp(c), login.clientIp),
      platform: login.platform,
      clientVersion: login.clientVersion,
      expiresInMinutes: (login.expiresAt - deps.now()) / 60_000,
      actionUrl,
      csrf: csrfFor(id, binding),
    };
    return withCookies(html(c, (pages) => pages.confirm(confirm), 200), [bindingCookie]);
  });

  app.post(`${LOGIN_PATH_PREFIX}:id`, async (c) => {
    const id = c.req.param("id");
    if (!isLoginId(id)) return expired(c);
    const binding = getCookie(c, cookiePrefix + id);
    // Before the CSRF check, which the mark would fail. A login still stored with the mark (the
    // callback marks only what it took) meets that check and is refused, as before.
    if (binding === FINISHED_MARK && !(await deps.flow.view(id))) return gone(c, id);
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const csrf = typeof form["csrf"] === "string" ? form["csrf"] : "";
    if (!binding || !secureEqual(csrf, csrfFor(id, binding))) {
      return errorPage(c, 403, "link-elsewhere");
    }
    return answerBegin(c, await deps.flow.begin(id, binding, browserIp(c)));
  });

  app.get(CALLBACK_PATH, async (c) => {
    // Taking the login is for the browser's GET only (a HEAD would spend the code unseen).
    if (c.req.method === "HEAD") return c.body(null, 405, { allow: "GET" });
    const cookies = getCookie(c);
    const bindings: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(cookies)) {
      const id = name.startsWith(cookiePrefix) ? name.slice(cookiePrefix.length) : "";
      if (isLoginId(id)) bindings.push([id, value]);
    }
    const query = new URL(c.req.url).search;
    const callback = new URL(`${baseHref(deps.baseUrl)}${CALLBACK_PATH}${query}`);
    const outcome = await deps.flow.complete(callback, bindings, browserIp(c));
    // Marked, not deleted: a reload of this page (a restored tab) then says the sign-in is
    // over, where without the cookie it would say to finish in another browser or reconnect.
    const { loginId, loginExpiresAt } = outcome;
    const finished = loginId === undefined || loginExpiresAt === undefined
      ? []
      : [loginCookie(loginId, FINISHED_MARK, loginExpiresAt)];
    return withCookies(answerCallback(c, outcome), finished);
  });

  app.notFound((c) => errorPage(c, 404, "not-found"));
  app.onError((error, c) => {
    if (error instanceof StoreUnavailableError) return storeUnavailable(c, error);
    deps.log.error("HTTP request failed: {error}", { error: String(error) });
    return errorPage(c, 500, "internal");
  });

  /**
   * Our answers are fresh Responses, and cookies go straight onto them: nothing here reads
   * `c.res`. Once it has been read, Hono copies every answer into a new Response, and on Deno
   * the copy's body is a stream instead of a string: about 30 µs more CPU per page.
   */
  function withCookies(response: Response, cookies: readonly string[]): Response {
    for (const cookie of cookies) response.headers.append("set-cookie", cookie);
    return response;
  }

  function answerBegin(c: RequestHeaders, outcome: BeginOutcome): Response {
    switch (outcome.kind) {
      case "redirect":
        return new Response(null, { status: 303, headers: { location: outcome.url } });
      case "expired":
        return expired(c);
      case "wrong-network":
        return errorPage(c, 403, "wrong-network");
      case "begun-elsewhere":
        return errorPage(c, 409, "begun-elsewhere");
      case "idp-unavailable":
        return errorPage(c, 502, "idp-unavailable");
    }
  }

  function answerCallback(c: RequestHeaders, outcome: CallbackOutcome): Response {
    switch (outcome.kind) {
      case "admitted":
        return html(c, (pages) => pages.success({ username: outcome.username }), 200);
      case "denied":
        return html(
          c,
          (pages) => pages.denied({ reason: outcome.reason, code: outcome.code }),
          403,
        );
      case "expired":
        return expired(c);
      case "invalid-response":
        return errorPage(c, 400, "invalid-response");
      case "cookie-missing":
        return errorPage(c, 400, "cookie-missing");
      case "finished":
        return finished(c);
      case "client-gone":
        return errorPage(c, 410, "client-gone");
      case "no-answer":
        return errorPage(c, 503, "no-answer");
    }
  }

  return app;
}

/**
 * The browser's address, when the confirm page is to warn that the VPN client is on another
 * network: both are addresses, and not of one address group (addressGroup: an IPv6 /64, as the
 * per-address caps count), the browser's taken as `http.check_client_ip` takes it
 * (`trusted_proxies` included). A forwarded link signs in the sender's client, and the page is
 * the victim's only clue; a device whose browser and OpenVPN use different IPv6 privacy addresses
 * of its /64 is on one network, and warned wrongly it would learn to ignore the warning.
 */
function browserOnOtherNetwork(browser: string, client: string): string | undefined {
  const known = canonicalIpBytes(browser) !== undefined && canonicalIpBytes(client) !== undefined;
  return known && addressGroup(browser) !== addressGroup(client) ? browser : undefined;
}
