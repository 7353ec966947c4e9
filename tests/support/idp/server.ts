/**
 * A Keycloak-like OpenID provider for tests, the demo and benchmarks, built on oidc-provider.
 *
 * What makes it behave like Keycloak (see docs in users.ts for the default accounts):
 * - issuer `http://127.0.0.1:<port>/realms/<realm>` (`https://` with the `tls` option);
 * - a login form that checks passwords, no consent screen;
 * - Keycloak-shaped claims in ID tokens and userinfo: `preferred_username`, `email`,
 *   `email_verified`, `groups` (full paths), `realm_access.roles`,
 *   `resource_access.<client>.roles`, `sid`;
 * - PKCE (S256) required for every client, refresh tokens issued to the code flow without
 *   `offline_access`, refresh tokens rotated, revocation and userinfo enabled;
 * - a disabled user cannot log in and every refresh grant for them fails with `invalid_grant`;
 * - empty claims are left out, as Keycloak does (no groups: no `groups` claim).
 *
 * Options make it answer refreshes like other IdPs: without an ID token, or refusing with a
 * bare 400 (Glewlwyd).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createAdapterStore } from "./adapter.ts";
import { renderErrorPage, renderLoginPage } from "./login_page.ts";
import { pbkdf2PasswordCheck, plainPasswordCheck } from "./password_check.ts";
import {
  DEFAULT_USERS,
  type ResolvedTestUser,
  resolveUser,
  type TestUser,
  userClaims as claimsOf,
} from "./users.ts";

/** A JWK as served at `jwks_uri` (WebCrypto's JsonWebKey lacks `kid`). */
export type PublicJwk = JsonWebKey & { kid?: string };

export type TestClientAuthMethod =
  | "client_secret_basic"
  | "client_secret_post"
  | "private_key_jwt"
  | "none";

export interface TestClient {
  clientId: string;
  /** Required for client_secret_basic and client_secret_post. */
  clientSecret?: string | undefined;
  redirectUris: string[];
  /** Default: client_secret_basic when a secret is given, otherwise none. */
  tokenEndpointAuthMethod?: TestClientAuthMethod;
  /** Public keys for private_key_jwt. */
  jwks?: { keys: JsonWebKey[] };
  postLogoutRedirectUris?: string[];
  /** OIDC back-channel logout endpoint of the client; ID tokens then carry the per-client `sid`. */
  backchannelLogoutUri?: string;
}

export interface TestIdpOptions {
  /** Realm name in the issuer path; default `vpn`. */
  realm?: string;
  /** Port on 127.0.0.1; default 0 (a free port). */
  port?: number;
  /** Default: DEFAULT_USERS (alice, bob, carol, dave, erin). */
  users?: readonly TestUser[];
  clients?: readonly TestClient[];
  /** ID token signing algorithm; default RS256 like Keycloak. */
  signingAlg?: "RS256" | "ES256";
  accessTokenTtlSec?: number;
  idTokenTtlSec?: number;
  /** Refresh token lifetime; default 1800 s (Keycloak's "SSO Session Idle"). */
  refreshTokenTtlSec?: number;
  /** SSO session lifetime; default 36000 s (Keycloak's "SSO Session Max"). */
  sessionTtlSec?: number;
  /** Tolerated clock skew for JWT checks (client assertions); default 2 s. */
  clockToleranceSec?: number;
  /**
   * Advertised as `authorization_endpoint` in discovery instead of the provider's own (e.g. a
   * front on another origin that redirects there, as a separate login host would).
   */
  authorizationEndpoint?: string;
  /**
   * Serves HTTPS with this certificate and key (PEM) instead of HTTP, as a Keycloak behind its own
   * TLS does; the issuer is then `https://127.0.0.1:<port>/realms/<realm>`.
   */
  tls?: { cert: string; key: string };
  /**
   * Whether a refresh response carries a new ID token; default true (Keycloak). False answers
   * like Glewlwyd: access and refresh token only (OIDC Core 12.2 allows it).
   */
  idTokenOnRefresh?: boolean;
  /** A refused refresh answers a bare HTTP 400 without a body (Glewlwyd) instead of RFC 6749 JSON. */
  bareRefreshErrors?: boolean;
  /** Check passwords with PBKDF2-HMAC-SHA512 of this many iterations (as Keycloak); default plain. */
  pbkdf2Iterations?: number | undefined;
}

export interface TestIdp {
  /** `http://127.0.0.1:<port>/realms/<realm>` (no trailing slash; https with `tls`). */
  readonly issuer: string;
  readonly port: number;
  readonly realm: string;
  /** The accounts, with their generated `sub`; mutate through the setters. */
  readonly users: ReadonlyMap<string, ResolvedTestUser>;
  /** The current public signing keys (what `jwks_uri` serves). */
  readonly jwks: { keys: PublicJwk[] };
  setDisabled(username: string, disabled: boolean): void;
  setGroups(username: string, groups: string[]): void;
  setRealmRoles(username: string, roles: string[]): void;
  /** Sets a custom attribute claim (declared by some user at start); undefined removes it. */
  setAttribute(username: string, name: string, value: unknown): void;
  /** Registers a client while the IdP runs. */
  addClient(client: TestClient): void;
  /** Back-channel logout deliveries that failed (the provider reports them only as events). */
  readonly backchannelErrors: readonly string[];
  /**
   * Awaited before the token endpoint answers a request: a test's moment between a relying
   * party sending its code (or refresh token) and getting the tokens.
   */
  beforeToken: (() => Promise<void>) | undefined;
  stop(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
type Any = any;

let providerModule: Promise<Any> | undefined;

/**
 * oidc-provider prints "Unsupported runtime" once when imported under Deno or Bun; the import is
 * deferred and that one warning swallowed so test output stays readable.
 */
function loadProvider(): Promise<Any> {
  providerModule ??= (async () => {
    const warn = console.warn;
    console.warn = () => {};
    try {
      return (await import("oidc-provider")).default;
    } finally {
      console.warn = warn;
    }
  })();
  return providerModule;
}

function clientMetadata(client: TestClient): Record<string, unknown> {
  const method = client.tokenEndpointAuthMethod ??
    (client.clientSecret === undefined ? "none" : "client_secret_basic");
  const metadata: Record<string, unknown> = {
    client_id: client.clientId,
    redirect_uris: client.redirectUris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: method,
  };
  if (client.clientSecret !== undefined) metadata.client_secret = client.clientSecret;
  if (client.jwks !== undefined) metadata.jwks = client.jwks;
  if (client.postLogoutRedirectUris !== undefined) {
    metadata.post_logout_redirect_uris = client.postLogoutRedirectUris;
  }
  if (client.backchannelLogoutUri !== undefined) {
    metadata.backchannel_logout_uri = client.backchannelLogoutUri;
    metadata.backchannel_logout_session_required = true;
  }
  return metadata;
}

async function generateSigningKey(alg: "RS256" | "ES256"): Promise<JsonWebKey> {
  const params = alg === "RS256"
    ? {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    }
    : { name: "ECDSA", namedCurve: "P-256" };
  const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return {
    kty: jwk.kty,
    ...Object.fromEntries(Object.entries(jwk).filter(([k]) => !["key_ops", "ext"].includes(k))),
    alg,
    use: "sig",
    kid: crypto.randomUUID(),
  } as JsonWebKey;
}

function publicJwk(jwk: JsonWebKey): PublicJwk {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Uint8Array).length;
    if (size > 64 * 1024) throw new Error("Request body too large");
    chunks.push(chunk as Uint8Array);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new URLSearchParams(new TextDecoder().decode(bytes));
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(html);
}

export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const Provider = await loadProvider();
  const realm = options.realm ?? "vpn";
  if (!/^[A-Za-z0-9_-]+$/.test(realm)) throw new Error(`Invalid realm name: ${realm}`);
  const basePath = `/realms/${realm}`;

  const users = new Map<string, ResolvedTestUser>();
  const passwordMatches = options.pbkdf2Iterations
    ? pbkdf2PasswordCheck(options.pbkdf2Iterations)
    : plainPasswordCheck;
  for (const user of options.users ?? DEFAULT_USERS) users.set(user.username, resolveUser(user));
  const userBySub = (sub: string) => [...users.values()].find((u) => u.sub === sub);
  const clientIds = new Set((options.clients ?? []).map((c) => c.clientId));
  const attributeNames = [
    ...new Set([...users.values()].flatMap((u) => Object.keys(u.attributes))),
  ];

  const store = createAdapterStore();
  const signingKey = await generateSigningKey(options.signingAlg ?? "RS256");
  const jwks = { keys: [publicJwk(signingKey)] };

  const sockets = new Set<Socket>();
  const server = options.tls === undefined ? createServer() : createHttpsServer(options.tls);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}${basePath}`;

  const provider = new Provider(issuer, {
    adapter: store.factory,
    clients: (options.clients ?? []).map(clientMetadata),
    jwks: { keys: [signingKey] },
    cookies: {
      keys: [crypto.randomUUID()],
      long: { httpOnly: true, sameSite: "lax", path: "/" },
      short: { httpOnly: true, sameSite: "lax", path: "/" },
    },
    findAccount(ctx: Any, sub: string, token: Any) {
      const user = userBySub(sub);
      // A disabled account is unknown to the provider: logins stop and refresh grants fail
      // with invalid_grant ("referenced account not found"), as with a disabled Keycloak user.
      if (user === undefined || user.disabled) return undefined;
      return {
        accountId: sub,
        claims() {
          const sid = token?.sid ?? token?.sessionUid ?? ctx?.oidc?.session?.uid;
          return {
            ...userClaims(user),
            ...(typeof sid === "string" ? { sid } : {}),
          };
        },
      };
    },
    claims: {
      openid: ["sub", "sid", "groups", "realm_access", "resource_access", ...attributeNames],
      profile: ["preferred_username", "name", "given_name", "family_name"],
      email: ["email", "email_verified"],
    },
    scopes: ["openid", "offline_access", "profile", "email"],
    conformIdTokenClaims: false,
    responseTypes: ["code"],
    pkce: { required: () => true },
    issueRefreshToken: (_ctx: Any, client: Any) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    clockTolerance: options.clockToleranceSec ?? 2,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true, allowedPolicy: sameClientOnly },
      introspection: { enabled: true, allowedPolicy: sameClientOnly },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx: Any, form: string) {
          ctx.type = "html";
          ctx.body = `<!DOCTYPE html><html><body>${form}` +
            `<button id="kc-logout" type="submit" form="op.logoutForm" name="logout" value="yes">` +
            `Sign out</button></body></html>`;
        },
        postLogoutSuccessSource(ctx: Any) {
          ctx.type = "html";
          ctx.body = renderErrorPage("Signed out", "You are signed out.");
        },
      },
    },
    clientBasedCORS: () => false,
    // oidc-provider refuses outgoing requests to special-use addresses (127.0.0.0/8 included)
    // through an undici dispatcher it adds to the options; the test IdP posts logout tokens to
    // a bridge on loopback, so the request goes out without it.
    fetch: (url: URL | string, init: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _dispatcher, ...rest } = init;
      return globalThis.fetch(url, rest);
    },
    interactions: {
      url: (_ctx: Any, interaction: Any) => `${basePath}/interaction/${interaction.uid}`,
    },
    loadExistingGrant: autoConsent,
    ttl: {
      AccessToken: options.accessTokenTtlSec ?? 300,
      AuthorizationCode: 60,
      IdToken: options.idTokenTtlSec ?? 300,
      RefreshToken: options.refreshTokenTtlSec ?? 1800,
      Interaction: 1800,
      Session: options.sessionTtlSec ?? 36000,
      Grant: options.sessionTtlSec ?? 36000,
    },
    renderError(ctx: Any, out: Record<string, string>) {
      ctx.type = "html";
      ctx.body = renderErrorPage("We are sorry...", out.error_description ?? out.error ?? "Error");
    },
  });
  // Keep the proxy-unaware default: the IdP is reached directly on 127.0.0.1.
  provider.proxy = false;
  provider.use(async (ctx: Any, next: () => Promise<void>) => {
    if (ctx.path === "/token") await idp.beforeToken?.();
    await next();
    if (ctx.path !== "/token" || ctx.oidc?.params?.grant_type !== "refresh_token") return;
    if (ctx.status === 200 && options.idTokenOnRefresh === false) delete ctx.body?.id_token;
    if (ctx.status >= 400 && options.bareRefreshErrors === true) {
      // An explicit null body makes Koa end the response with no body at all.
      ctx.body = null;
      ctx.status = 400;
    }
  });
  const backchannelErrors: string[] = [];
  provider.on("backchannel.error", (_ctx: Any, error: Error, client: Any) => {
    backchannelErrors.push(`${client?.clientId}: ${error?.message ?? String(error)}`);
  });
  const callback = provider.callback();

  function userClaims(user: ResolvedTestUser): Record<string, unknown> {
    return claimsOf(user, [...clientIds]);
  }

  async function handleInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    action: string | undefined,
  ): Promise<void> {
    let details: Any;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      return sendHtml(res, 400, renderErrorPage("We are sorry...", "Your login attempt timed out"));
    }
    if (details.uid !== uid) {
      return sendHtml(res, 400, renderErrorPage("We are sorry...", "Invalid interaction"));
    }
    const clientId = String(details.params.client_id ?? "");
    const action_ = `${basePath}/interaction/${uid}/login`;

    if (details.prompt.name !== "login") {
      // Consent is never asked (autoConsent grants what was requested); any other prompt
      // finishes with the grant covering the request.
      const grant = await autoConsentForInteraction(details);
      return provider.interactionFinished(req, res, { consent: { grantId: grant } }, {
        mergeWithLastSubmission: true,
      });
    }
    if (req.method === "GET" && action === undefined) {
      return sendHtml(res, 200, renderLoginPage({ realm, action: action_, clientId }));
    }
    if (req.method !== "POST" || action !== "login") {
      return sendHtml(res, 405, renderErrorPage("We are sorry...", "Method not allowed"));
    }
    const form = await readForm(req);
    if (form.has("cancel")) {
      return provider.interactionFinished(req, res, {
        error: "access_denied",
        error_description: "End-User aborted interaction",
      }, { mergeWithLastSubmission: false });
    }
    const username = form.get("username") ?? "";
    // The login page again, with Keycloak's message for what went wrong.
    const loginError = (error: string) =>
      sendHtml(
        res,
        200,
        renderLoginPage({ realm, action: action_, clientId, username, error }),
      );
    const user = users.get(username) ??
      [...users.values()].find((u) => u.email === username);
    if (user === undefined || !passwordMatches(user.password, form.get("password") ?? "")) {
      return loginError("Invalid username or password.");
    }
    if (user.disabled) {
      return loginError("Account is disabled, contact your administrator.");
    }
    if (user.denied) {
      return provider.interactionFinished(req, res, {
        error: "access_denied",
        error_description: "Access denied by an authentication policy",
      }, { mergeWithLastSubmission: false });
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
      mergeWithLastSubmission: false,
    });
  }

  async function autoConsentForInteraction(details: Any): Promise<string> {
    const grant = details.grantId === undefined
      ? new provider.Grant({
        accountId: details.session.accountId,
        clientId: details.params.client_id,
      })
      : await provider.Grant.find(details.grantId);
    const missing = details.prompt.details ?? {};
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return await grant.save();
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    if (
      options.authorizationEndpoint !== undefined &&
      url.split("?")[0] === `${basePath}/.well-known/openid-configuration`
    ) {
      advertiseAuthorizationEndpoint(res, options.authorizationEndpoint);
    }
    const interaction = url.match(
      new RegExp(`^${basePath}/interaction/([A-Za-z0-9_-]+)(?:/(login))?(?:\\?.*)?$`),
    );
    if (interaction !== null) {
      handleInteraction(req, res, interaction[1]!, interaction[2]).catch(() => {
        if (!res.headersSent) sendHtml(res, 500, renderErrorPage("Error", "Internal error"));
        else res.end();
      });
      return;
    }
    if (url === basePath || url.startsWith(`${basePath}/`) || url.startsWith(`${basePath}?`)) {
      // The provider serves paths relative to its mount point and derives that mount point
      // from originalUrl, as when mounted under a framework router.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = url.slice(basePath.length) || "/";
      callback(req, res);
      return;
    }
    sendHtml(res, 404, renderErrorPage("Not found", "Not found"));
  });

  function mustUser(username: string): ResolvedTestUser {
    const user = users.get(username);
    if (user === undefined) throw new Error(`Unknown test user: ${username}`);
    return user;
  }

  // Used by the token middleware above, which runs only once requests arrive.
  const idp: TestIdp = {
    issuer,
    port,
    realm,
    users,
    jwks,
    backchannelErrors,
    beforeToken: undefined,
    setDisabled(username, disabled) {
      mustUser(username).disabled = disabled;
    },
    setGroups(username, groups) {
      mustUser(username).groups = [...groups];
    },
    setRealmRoles(username, roles) {
      mustUser(username).realmRoles = [...roles];
    },
    setAttribute(username, name, value) {
      if (!attributeNames.includes(name)) throw new Error(`Undeclared attribute: ${name}`);
      const user = mustUser(username);
      if (value === undefined) delete user.attributes[name];
      else user.attributes[name] = value;
    },
    addClient(client) {
      clientIds.add(client.clientId);
      store.putClient(clientMetadata(client));
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
    },
  };
  return idp;
}

/** Rewrites the discovery document the provider is about to send. */
function advertiseAuthorizationEndpoint(res: ServerResponse, endpoint: string): void {
  const end = res.end.bind(res) as (body: string) => ServerResponse;
  res.end = ((chunk: unknown) => {
    const document = JSON.parse(String(chunk));
    document.authorization_endpoint = endpoint;
    const body = JSON.stringify(document);
    res.setHeader("content-length", new TextEncoder().encode(body).length);
    return end(body);
  }) as typeof res.end;
}

function sameClientOnly(ctx: Any, client: Any, token: Any): boolean {
  void ctx;
  return token.clientId === client.clientId;
}

/**
 * Grants whatever OIDC scopes and claims the request asks for, so no consent screen appears
 * (Keycloak's default "Consent required: off").
 */
async function autoConsent(ctx: Any): Promise<Any> {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId === undefined ? undefined : await oidc.provider.Grant.find(grantId);
  if (grant !== undefined && grant.accountId !== oidc.account.accountId) grant = undefined;
  grant ??= new oidc.provider.Grant({
    accountId: oidc.account.accountId,
    clientId: oidc.client.clientId,
  });
  grant.addOIDCScope(oidc.requestParamOIDCScopes);
  const claims = [...oidc.requestParamClaims];
  if (claims.length > 0) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}
