/**
 * An in-process OpenID provider for unit tests: a fetch function that serves discovery, JWKS,
 * token, userinfo and revocation, signs ID tokens with WebCrypto keys it can rotate, records
 * every request, and lets each test bend the responses.
 */
import { Secret } from "../../../src/config/secret.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";

export const ISSUER = "https://idp.test/realms/vpn";
export const CLIENT_ID = "vpn-bridge";
export const REDIRECT_URI = "https://vpn.test/oauth2/callback";

export interface SigningKey {
  kid: string;
  alg: "ES256" | "RS256";
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

export async function generateSigningKey(alg: "ES256" | "RS256" = "ES256"): Promise<SigningKey> {
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  };
  const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const kid = crypto.randomUUID();
  const { key_ops: _ops, ext: _ext, ...rest } = jwk;
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk: { ...rest, kid, alg, use: "sig" } as JsonWebKey,
  };
}

export function base64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeBase64url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export async function signJwt(
  key: SigningKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const head = base64url(JSON.stringify({ alg: key.alg, typ: "JWT", kid: key.kid, ...header }));
  const body = base64url(JSON.stringify(payload));
  const algorithm = key.alg === "ES256"
    ? { name: "ECDSA", hash: "SHA-256" }
    : { name: "RSASSA-PKCS1-v1_5" };
  const signature = await crypto.subtle.sign(
    algorithm,
    key.privateKey,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
}

export interface RecordedRequest {
  url: URL;
  method: string;
  headers: Headers;
  form: URLSearchParams;
  signal: AbortSignal | undefined;
}

export type TokenResponder = (
  request: RecordedRequest,
  idp: FakeIdp,
) => Promise<Response | undefined> | Response | undefined;

export class FakeIdp {
  /** Keys served at jwks_uri. */
  published: SigningKey[] = [];
  /** The key ID tokens are signed with. */
  signing!: SigningKey;
  requests: RecordedRequest[] = [];
  /** Time the ID tokens are issued at, in seconds. */
  nowSec = Math.floor(Date.now() / 1000);
  subject = "3f9d2c1a-user";
  /** Claims of the next ID token, merged over the defaults; `undefined` values delete a claim. */
  idTokenClaims: Record<string, unknown> = {};
  userinfo: Record<string, unknown> | undefined;
  tokenExtras: Record<string, unknown> = { refresh_expires_in: 1800 };
  /** Replaces the token endpoint's answer when it returns a Response. */
  onToken: TokenResponder | undefined;
  /** Answers userinfo instead of `userinfo` when set (an outage, an error page). */
  onUserinfo: (() => Response) | undefined;
  /** Replaces every answer when set (outages). */
  outage: ((request: RecordedRequest) => Promise<Response>) | undefined;
  metadataExtras: Record<string, unknown> = {};
  /** The nonce the next ID token carries (set from the authorization URL by tests). */
  nonce: string | undefined;
  /** Nonces by authorization code, over `nonce`: for sign-ins that finish at once. */
  nonces = new Map<string, string>();
  issuedRefreshTokens = 0;

  static async create(alg: "ES256" | "RS256" = "ES256"): Promise<FakeIdp> {
    const idp = new FakeIdp();
    idp.signing = await generateSigningKey(alg);
    idp.published = [idp.signing];
    return idp;
  }

  /** Signs with a new key and publishes only that one (the old key is retired). */
  async rotateKey(): Promise<void> {
    this.signing = await generateSigningKey(this.signing.alg);
    this.published = [this.signing];
  }

  countRequests(path: string): number {
    return this.requests.filter((r) => r.url.pathname === new URL(ISSUER + path).pathname).length;
  }

  lastRequest(path: string): RecordedRequest {
    const found = this.requests.findLast((r) => r.url.pathname === new URL(ISSUER + path).pathname);
    if (found === undefined) throw new Error(`No request to ${path}`);
    return found;
  }

  async idToken(nonce = this.nonce): Promise<string> {
    const claims: Record<string, unknown> = {
      iss: ISSUER,
      sub: this.subject,
      aud: CLIENT_ID,
      iat: this.nowSec,
      exp: this.nowSec + 300,
      nonce,
      sid: "sso-session-1",
      preferred_username: "alice",
      groups: ["/vpn-users"],
      realm_access: { roles: ["vpn-user"] },
    };
    for (const [name, value] of Object.entries(this.idTokenClaims)) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    return await signJwt(this.signing, claims);
  }

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const body = init?.body;
    const request: RecordedRequest = {
      url,
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      form: new URLSearchParams(
        typeof body === "string" || body instanceof URLSearchParams ? body : "",
      ),
      signal: init?.signal ?? undefined,
    };
    this.requests.push(request);
    if (this.outage !== undefined) return await this.outage(request);
    const json = (value: unknown, status = 200) =>
      new Response(JSON.stringify(value), {
        status,
        headers: { "content-type": "application/json" },
      });
    switch (url.pathname) {
      case "/realms/vpn/.well-known/openid-configuration":
        return json({
          issuer: ISSUER,
          authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`,
          token_endpoint: `${ISSUER}/protocol/openid-connect/token`,
          userinfo_endpoint: `${ISSUER}/protocol/openid-connect/userinfo`,
          revocation_endpoint: `${ISSUER}/protocol/openid-connect/revoke`,
          jwks_uri: `${ISSUER}/protocol/openid-connect/certs`,
          id_token_signing_alg_values_supported: ["ES256", "RS256"],
          ...this.metadataExtras,
        });
      case "/realms/vpn/protocol/openid-connect/certs":
        return json({ keys: this.published.map((k) => k.publicJwk) });
      case "/realms/vpn/protocol/openid-connect/token": {
        const custom = await this.onToken?.(request, this);
        if (custom !== undefined) return custom;
        this.issuedRefreshTokens++;
        return json({
          access_token: "access-token-1",
          token_type: "Bearer",
          expires_in: 300,
          id_token: await this.idToken(this.nonces.get(request.form.get("code") ?? "")),
          refresh_token: `refresh-token-${this.issuedRefreshTokens}`,
          ...this.tokenExtras,
        });
      }
      case "/realms/vpn/protocol/openid-connect/userinfo":
        return this.onUserinfo?.() ?? json(this.userinfo ?? { sub: this.subject });
      case "/realms/vpn/protocol/openid-connect/revoke":
        return new Response(null, { status: 200 });
      default:
        return new Response("not found", { status: 404 });
    }
  };
}

/**
 * The redirect back from the IdP for a sign-in begun with `start`: its state and a code, with
 * the next ID token bound to its nonce.
 */
export function callbackFor(idp: FakeIdp, start: { state: string; nonce: string }): URL {
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  return callback;
}

export function oidcConfig(
  overrides: Partial<ResolvedConfig["oidc"]> = {},
): ResolvedConfig["oidc"] {
  return {
    issuer: new URL(ISSUER),
    clientId: CLIENT_ID,
    clientSecret: new Secret("s3cret:with/odd+chars"),
    clientAuthMethod: "client_secret_basic",
    privateKey: undefined,
    privateKeyAlg: "RS256",
    privateKeyCertificateFile: undefined,
    clientAssertionAudience: "issuer",
    scopes: ["openid", "profile", "email"],
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
    rolesClaim: undefined,
    authorizeParams: {},
    useUserinfo: false,
    revokeRefreshTokens: true,
    clockToleranceSec: 5,
    httpTimeoutMs: 2000,
    maxOpenRequests: 32,
    tlsCaFile: undefined,
    ...overrides,
  };
}
