import { assertEquals } from "../../support/assert.ts";
import { SnapshotCache } from "../../../src/sessions/session_cache.ts";

/**
 * The cache against the plainest model of its promise: at most `limit` entries, and beyond it
 * the least recently stored goes. Random stores (new keys and keys stored again), deletes,
 * expiries and clears, checked after every step.
 */
Deno.test("SnapshotCache drops exactly the least recently stored entry, whatever came before", () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const limit = 50;
  const cache = new SnapshotCache<{ expiresAt: number }>(limit);
  let model: Array<{ key: string; expiresAt: number }> = []; // oldest first
  for (let step = 0; step < 20_000; step++) {
    const roll = random(100);
    const key = `k${random(200)}`;
    if (roll < 80) {
      cache.set(key, { expiresAt: step });
      model = model.filter((e) => e.key !== key);
      model.push({ key, expiresAt: step });
      if (model.length > limit) model.shift();
    } else if (roll < 95) {
      cache.delete(key);
      model = model.filter((e) => e.key !== key);
    } else if (roll < 99) {
      // Entries stored before `step - 30` have expired.
      cache.dropExpired(step - 30);
      model = model.filter((e) => e.expiresAt >= step - 30);
    } else {
      cache.clear();
      model = [];
    }
    for (let k = 0; k < 200; k++) {
      const key = `k${k}`;
      assertEquals(cache.has(key), model.some((e) => e.key === key), `step ${step}, ${key}`);
    }
  }
});
