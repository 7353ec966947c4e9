import { assert, assertEquals } from "../../support/assert.ts";
import { settledHeap } from "../../support/settled_heap.ts";
import { evictionBatch, SnapshotCache } from "../../../src/sessions/session_cache.ts";

/**
 * The cache against the plainest model of its promise: at most `limit` entries, and beyond it
 * the least recently stored go, a batch at a time. Random stores (new keys and keys stored
 * again), deletes, expiries and clears, checked after every step.
 */
Deno.test("SnapshotCache drops exactly the least recently stored entries, whatever came before", () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    // The high bits: an LCG's low bits repeat with a short period.
    return (seed >>> 16) % n;
  };
  const limit = 192;
  const batch = evictionBatch(limit);
  assertEquals(batch, 3);
  const keys = 400;
  const cache = new SnapshotCache<{ expiresAt: number }>(limit);
  let model: Array<{ key: string; expiresAt: number }> = []; // oldest first
  let evictions = 0;
  for (let step = 0; step < 12_000; step++) {
    const roll = random(1000);
    const key = `k${random(keys)}`;
    if (roll < 900) {
      cache.set(key, { expiresAt: step });
      model = model.filter((e) => e.key !== key);
      model.push({ key, expiresAt: step });
      if (model.length > limit) {
        model.splice(0, batch);
        evictions++;
      }
    } else if (roll < 995) {
      cache.delete(key);
      model = model.filter((e) => e.key !== key);
    } else if (roll < 999) {
      // Entries stored before `step - 1500` have expired.
      cache.dropExpired(step - 1500);
      model = model.filter((e) => e.expiresAt >= step - 1500);
    } else {
      cache.clear();
      model = [];
    }
    for (let k = 0; k < keys; k++) {
      const key = `k${k}`;
      const held = model.find((e) => e.key === key);
      assertEquals(cache.get(key), held && { expiresAt: held.expiresAt }, `step ${step}, ${key}`);
    }
  }
  // The limit was reached again and again, not once.
  assert(evictions > 1000, `${evictions} evictions`);
});

Deno.test("SnapshotCache holds no more than its limit", () => {
  const cache = new SnapshotCache<number>(1);
  cache.set("a", 1);
  cache.set("b", 2);
  assertEquals([cache.has("a"), cache.get("b")], [false, 2]);
});

/**
 * A cache below its limit is stored into all the time (every REAUTH's session, every CONNECT's
 * pending login). A Map iterator kept between stores (d8f9a65) held every hash table the Map
 * outgrew while nobody advanced it: 1,000,000 re-stores of 10,000 entries left 40 MB alive on
 * Deno. Memory, not time: the heap after a full collection.
 */
Deno.test("SnapshotCache below its limit keeps no garbage alive as entries are stored again", async () => {
  const cache = new SnapshotCache<{ n: number }>(50_000);
  const keys = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
  for (const key of keys) cache.set(key, { n: 0 });
  const before = await settledHeap();
  for (let round = 1; round <= 100; round++) {
    for (const key of keys) cache.set(key, cache.get(key)!);
  }
  const grown = (await settledHeap()) - before;
  assert(grown < 8_000_000, `heap grew by ${(grown / 1e6).toFixed(1)} MB`);
  // Used after the measurement, so that the cache itself is not collected before it.
  assertEquals(cache.get("s5"), { n: 0 });
});
