/**
 * Logout tokens for tests: the IdP's key set, a forger's key, valid claims, and one refused
 * token per rule of Back-Channel Logout 1.0 (2.6), shared by the validation table test and the
 * end-to-end-of-the-bridge test that checks a refused token ends nothing.
 */
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import {
  BACKCHANNEL_LOGOUT_EVENT,
  LOGOUT_TOKEN_MAX_AGE_SEC,
} from "../../../src/oidc/logout_token.ts";

export const ISSUER = "https://idp.example.com/realms/corp";
export const CLIENT_ID = "openvpn";
export const NOW = 1_800_000_000_000;
export const NOW_SEC = NOW / 1000;
export const TOLERANCE = 30;

export async function signingKeys() {
  const idp = await generateKeyPair("RS256", { extractable: true });
  const forger = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(idp.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  return { idp, forger, jwks: { keys: [jwk] } };
}

export const keys = await signingKeys();

export function logoutClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: CLIENT_ID,
    iat: NOW_SEC,
    jti: crypto.randomUUID(),
    sub: "u-1",
    sid: "sso-1",
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...overrides,
  };
  for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
  return claims as JWTPayload;
}

export function sign(
  claims: JWTPayload,
  /** `typ` as any JSON value: jose hands the header on without checking its type. */
  options: { key?: CryptoKey; typ?: unknown; alg?: string; kid?: string } = {},
): Promise<string> {
  const header: Record<string, unknown> = { alg: options.alg ?? "RS256", kid: options.kid ?? "k1" };
  if (!("typ" in options)) header["typ"] = "logout+jwt";
  else if (options.typ !== undefined) header["typ"] = options.typ;
  return new SignJWT(claims).setProtectedHeader(header as { alg: string })
    .sign(options.key ?? keys.idp.privateKey);
}

export const refusedCases: Array<[string, () => Promise<string>, RegExp]> = [
  [
    "a forged signature (other key, same kid)",
    () => sign(logoutClaims(), { key: keys.forger.privateKey }),
    /signature verification failed/,
  ],
  ["a token with its payload swapped", async () => {
    const [header, , signature] = (await sign(logoutClaims())).split(".");
    const payload = btoa(JSON.stringify(logoutClaims({ sid: "someone-else" })))
      .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    return `${header}.${payload}.${signature}`;
  }, /signature verification failed/],
  ["a wrong audience", () => sign(logoutClaims({ aud: "other-client" })), /"aud"/],
  ["no audience", () => sign(logoutClaims({ aud: undefined })), /"aud"/],
  ["a wrong issuer", () => sign(logoutClaims({ iss: "https://evil.example.com" })), /"iss"/],
  ["an expired exp", () => sign(logoutClaims({ exp: NOW_SEC - TOLERANCE - 1 })), /"exp"/],
  [
    "an iat older than the age limit",
    () => sign(logoutClaims({ iat: NOW_SEC - LOGOUT_TOKEN_MAX_AGE_SEC - TOLERANCE - 1 })),
    /"iat"/,
  ],
  ["an iat in the future", () => sign(logoutClaims({ iat: NOW_SEC + TOLERANCE + 5 })), /"iat"/],
  ["no iat", () => sign(logoutClaims({ iat: undefined })), /"iat"/],
  ["a nonce (an ID token)", () => sign(logoutClaims({ nonce: "n-1" })), /"nonce"/],
  // The rule is "no nonce claim", not "no truthy nonce": an empty one is still there.
  ["an empty nonce", () => sign(logoutClaims({ nonce: "" })), /"nonce"/],
  ["no events", () => sign(logoutClaims({ events: undefined })), /"events"/],
  [
    "events without the logout event",
    () => sign(logoutClaims({ events: { "http://example.com/other": {} } })),
    /"events"/,
  ],
  [
    "events naming it with a non-object",
    () => sign(logoutClaims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: true } })),
    /"events"/,
  ],
  [
    "events naming it with null (a JSON object is required)",
    () => sign(logoutClaims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: null } })),
    /"events"/,
  ],
  [
    "events naming it with an array",
    () => sign(logoutClaims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } })),
    /"events"/,
  ],
  [
    "neither sid nor sub",
    () => sign(logoutClaims({ sid: undefined, sub: undefined })),
    /neither "sid" nor "sub"/,
  ],
  ["an empty sid", () => sign(logoutClaims({ sid: "", sub: undefined })), /"sid"/],
  ["a numeric sid", () => sign(logoutClaims({ sid: 7 })), /"sid"/],
  // jose checks no type of `sub`; one that is not a string must not reach the store's lookup.
  ["an empty sub", () => sign(logoutClaims({ sub: "", sid: undefined })), /"sub"/],
  ["a numeric sub", () => sign(logoutClaims({ sub: 7, sid: undefined })), /"sub"/],
  [
    "a sub that is not a string, next to a good sid",
    () => sign(logoutClaims({ sub: ["u-1"] })),
    /"sub"/,
  ],
  ["no jti", () => sign(logoutClaims({ jti: undefined })), /"jti"/],
  ["an empty jti", () => sign(logoutClaims({ jti: "" })), /"jti"/],
  ["header typ at+jwt", () => sign(logoutClaims(), { typ: "at+jwt" }), /"typ"/],
  // Signed by the IdP's key all the same: a refusal, not a TypeError answered as server_error.
  ["header typ a number", () => sign(logoutClaims(), { typ: 1 }), /"typ"/],
  ["header typ null", () => sign(logoutClaims(), { typ: null }), /"typ"/],
  ["header typ a list", () => sign(logoutClaims(), { typ: ["logout+jwt"] }), /"typ"/],
  ["alg none", () =>
    Promise.resolve(
      new UnsecuredJWT(logoutClaims()).setIssuer(ISSUER).setAudience(CLIENT_ID).encode(),
    ), /alg|Unsecured|JWS/i],
  [
    "HS256 signed with a guessable secret",
    () =>
      sign(logoutClaims(), {
        alg: "HS256",
        key: new TextEncoder().encode("x".repeat(32)) as never,
      }),
    /alg/i,
  ],
  [
    "a key id the IdP does not have",
    () => sign(logoutClaims(), { kid: "unknown" }),
    /no applicable key|matching/i,
  ],
  ["not a JWT at all", () => Promise.resolve("not-a-jwt"), /Invalid|JWS/],
];
