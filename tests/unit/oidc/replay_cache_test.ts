/** The back-channel logout replay cache: each `jti` once within its window, and bounded. */
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import {
  createLogoutVerifier,
  REPLAY_CACHE_LIMIT,
  ReplayCache,
} from "../../../src/oidc/logout_verifier.ts";
import { LogoutTokenError } from "../../../src/oidc/logout_token.ts";
import {
  CLIENT_ID,
  ISSUER,
  keys,
  logoutClaims,
  NOW,
  NOW_SEC,
  sign,
  TOLERANCE,
} from "./logout_fixtures.ts";

Deno.test("ReplayCache refuses a jti seen before within its window and accepts it after", () => {
  const cache = new ReplayCache();
  assertEquals(cache.remember("j1", 1_000, 0), true);
  assertEquals(cache.remember("j1", 1_000, 999), false);
  assertEquals(cache.remember("j1", 3_000, 1_001), true);
  assertEquals(cache.size, 1);
});

Deno.test("ReplayCache holds at most its limit, forgetting the oldest ids first", () => {
  const cache = new ReplayCache(3);
  for (const id of ["a", "b", "c", "d", "e"]) cache.remember(id, 10_000, 0);
  assertEquals(cache.size, 3);
  assertEquals(cache.remember("e", 10_000, 1), false);
  assertEquals(cache.remember("c", 10_000, 1), false);
  assertEquals(cache.remember("a", 10_000, 1), true);
});

Deno.test("ReplayCache drops expired ids as new ones arrive, and its default limit is 10,000", () => {
  const cache = new ReplayCache();
  for (let i = 0; i < REPLAY_CACHE_LIMIT + 500; i++) cache.remember(`j${i}`, 1_000_000, 0);
  assertEquals(cache.size, REPLAY_CACHE_LIMIT);
  assertEquals(REPLAY_CACHE_LIMIT, 10_000);
  cache.remember("late", 2_000_000, 1_000_001);
  assertEquals(cache.size, 1);
});

Deno.test("a logout token replayed in the last second its age still passes is refused as a replay", async () => {
  const clock = { now: NOW };
  const verifier = () =>
    createLogoutVerifier(
      {
        issuer: new URL(ISSUER),
        clientId: CLIENT_ID,
        clockToleranceSec: TOLERANCE,
        httpTimeoutMs: 1000,
      },
      {
        discover: () =>
          Promise.resolve({ issuer: ISSUER, jwks_uri: "https://idp.example.com/jwks" }),
        get: () => Promise.resolve(Response.json(keys.jwks)),
        now: () => clock.now,
      },
    );
  // Naming only `sub`: replayed, it would also end the sessions the user began since.
  const token = await sign(logoutClaims({ iat: NOW_SEC, sid: undefined }));
  const verify = verifier();
  await verify(token);
  // 120 s and the tolerance old, and 999 ms: jose counts whole seconds, so the age still passes.
  clock.now = NOW + (120 + TOLERANCE) * 1000 + 999;
  // A fresh verifier takes it: only the replay cache stands between it and a second logout.
  assertEquals((await verifier()(token)).sub, "u-1");
  const error = await assertRejects(() => verify(token), LogoutTokenError);
  assertMatch(error.message, /"jti" was already used/);
});
