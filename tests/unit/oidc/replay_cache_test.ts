/** The back-channel logout replay cache: each `jti` once within its window, and bounded. */
import { assertEquals } from "../../support/assert.ts";
import { REPLAY_CACHE_LIMIT, ReplayCache } from "../../../src/oidc/logout_verifier.ts";

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
