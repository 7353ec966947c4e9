/**
 * Logout token validation (Back-Channel Logout 1.0, 2.6): one valid token per shape the IdPs
 * send, and one refused token per rule.
 */
import { createLocalJWKSet } from "jose";
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import {
  LOGOUT_TOKEN_ALGORITHMS,
  LOGOUT_TOKEN_MAX_AGE_SEC,
  LogoutTokenError,
  validateLogoutToken,
} from "../../../src/oidc/logout_token.ts";
import {
  CLIENT_ID,
  ISSUER,
  keys,
  logoutClaims,
  NOW,
  NOW_SEC,
  refusedCases,
  sign,
  TOLERANCE,
} from "./logout_fixtures.ts";

const localKeys = createLocalJWKSet(keys.jwks);

const expectation = {
  issuer: ISSUER,
  clientId: CLIENT_ID,
  now: NOW,
  clockToleranceSec: TOLERANCE,
  algorithms: LOGOUT_TOKEN_ALGORITHMS,
};

const validCases: Array<[string, () => Promise<string>, { sid?: string; sub?: string }]> = [
  ["sid and sub, typ logout+jwt", () => sign(logoutClaims()), { sid: "sso-1", sub: "u-1" }],
  ["only sid", () => sign(logoutClaims({ sub: undefined })), { sid: "sso-1" }],
  ["only sub", () => sign(logoutClaims({ sid: undefined })), { sub: "u-1" }],
  ["typ JWT (Keycloak before 2024)", () => sign(logoutClaims(), { typ: "JWT" }), {}],
  ["no typ", () => sign(logoutClaims(), { typ: undefined }), {}],
  ["typ application/logout+jwt", () => sign(logoutClaims(), { typ: "application/logout+jwt" }), {}],
  ["aud as a list with our client", () => sign(logoutClaims({ aud: ["other", CLIENT_ID] })), {}],
  [
    "Keycloak's payload typ Logout and an exp",
    () => sign(logoutClaims({ typ: "Logout", exp: NOW_SEC + 60 })),
    {},
  ],
  [
    "iat at the age limit",
    () => sign(logoutClaims({ iat: NOW_SEC - LOGOUT_TOKEN_MAX_AGE_SEC })),
    {},
  ],
  ["iat a little ahead (clock skew)", () => sign(logoutClaims({ iat: NOW_SEC + TOLERANCE })), {}],
];

for (const [name, make, expected] of validCases) {
  Deno.test(`validateLogoutToken() accepts ${name}`, async () => {
    const request = await validateLogoutToken(await make(), localKeys, expectation);
    if (expected.sid !== undefined) assertEquals(request.sid, expected.sid);
    if (expected.sub !== undefined) assertEquals(request.sub, expected.sub);
    if (!("sid" in expected) && "sub" in expected) assertEquals(request.sid, undefined);
  });
}

for (const [name, make, pattern] of refusedCases) {
  Deno.test(`validateLogoutToken() refuses ${name}`, async () => {
    const token = await make();
    const error = await assertRejects(
      () => validateLogoutToken(token, localKeys, expectation),
      LogoutTokenError,
    );
    assertMatch(error.message, pattern);
  });
}

/** Whether validateLogoutToken takes `token` at `now` (ms). */
async function acceptsAt(token: string, now: number): Promise<boolean> {
  try {
    await validateLogoutToken(token, localKeys, { ...expectation, now });
    return true;
  } catch (error) {
    if (error instanceof LogoutTokenError) return false;
    throw error;
  }
}

const replayWindows: Array<[string, Record<string, unknown>]> = [
  ["limited by its iat", {}],
  ["limited by an iat 90 s old", { iat: NOW_SEC - 90 }],
  ["limited by an iat inside a second", { iat: NOW_SEC - 10.4 }],
  ["limited by an exp", { exp: NOW_SEC + 60 }],
  ["limited by an exp inside a second", { exp: NOW_SEC + 60.5 }],
  ["with an exp beyond its age limit", { exp: NOW_SEC + 600 }],
];

for (const [name, claims] of replayWindows) {
  Deno.test(`validateLogoutToken() has a token ${name} remembered as long as it accepts it, to the last millisecond`, async () => {
    const token = await sign(logoutClaims({ sid: undefined, ...claims }));
    const { replayUntil } = await validateLogoutToken(token, localKeys, expectation);
    // Time only runs forward and a token, once refused for its age, stays refused.
    assertEquals(await acceptsAt(token, replayUntil + 1), false, "accepted after it is forgotten");
    assertEquals(await acceptsAt(token, replayUntil - 1), true, "remembered longer than accepted");
  });
}

Deno.test("validateLogoutToken() takes an iat at most 120 s old beyond oidc.clock_tolerance, as the README says", async () => {
  const aged = async (seconds: number) =>
    await acceptsAt(await sign(logoutClaims({ iat: NOW_SEC - seconds - TOLERANCE })), NOW);
  assertEquals(await aged(119), true, "119 s");
  assertEquals(await aged(120), true, "120 s");
  assertEquals(await aged(121), false, "121 s");
});

/**
 * A token refused for one of its times, for every IdP clock offset here: the log names the
 * clocks and how far apart they are, not only the check jose failed (which blames the token).
 */
const refusedForTime: Array<[string, Record<string, unknown>, string]> = [
  [
    "an IdP clock 2 min ahead (iat)",
    { iat: NOW_SEC + 120 },
    "iat is 120 s ahead of this host's clock: the IdP's or this host's clock is off (NTP), " +
    "or raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an IdP clock 10 min ahead (iat)",
    { iat: NOW_SEC + 600 },
    "iat is 600 s ahead of this host's clock: the IdP's or this host's clock is off (NTP), " +
    "or raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an IdP clock 10 min behind (iat)",
    { iat: NOW_SEC - 600 },
    "iat is 600 s old by this host's clock (at most 120 s taken): the IdP's or this host's " +
    "clock is off (NTP), or raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an IdP clock 1 min behind (exp)",
    { iat: NOW_SEC - 60, exp: NOW_SEC - 31 },
    "exp is 31 s past by this host's clock: the IdP's or this host's clock is off (NTP), or " +
    "raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an IdP clock 1 min ahead (nbf)",
    { iat: NOW_SEC, nbf: NOW_SEC + 60 },
    "nbf is 60 s ahead of this host's clock: the IdP's or this host's clock is off (NTP), or " +
    "raise oidc.clock_tolerance (now 30 s)",
  ],
];

for (const [name, claims, advice] of refusedForTime) {
  Deno.test(`validateLogoutToken() refusing a token of ${name} says how far the clocks are apart`, async () => {
    const token = await sign(logoutClaims(claims));
    const error = await assertRejects(
      () => validateLogoutToken(token, localKeys, expectation),
      LogoutTokenError,
    );
    assertMatch(error.message, /^Logout token rejected: ERR_JWT_\w+: "(iat|exp|nbf)" claim /);
    assertEquals(error.message.slice(error.message.indexOf("; ") + 2), advice);
  });
}

Deno.test("validateLogoutToken() adds no clock advice to a refusal for anything but a time", async () => {
  const token = await sign(logoutClaims({ aud: "other-client" }));
  const error = await assertRejects(
    () => validateLogoutToken(token, localKeys, expectation),
    LogoutTokenError,
  );
  assertEquals(error.message.includes("clock"), false, error.message);
});
