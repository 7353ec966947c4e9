/**
 * What storing a snapshot costs once the cache is full (a CONNECT storm's pending logins, a
 * session cache at its bound), next to storing below the limit:
 *
 *   deno bench -A bench/snapshot_cache_bench.ts
 *
 * Taking the oldest entry with a fresh `keys()` walked over every hole earlier deletes left in
 * the Map: 5.5-7.4 µs per store when full against about 1 µs below the limit (2026-12-01). A
 * live iterator kept between stores made it 0.87 µs but pinned the Map's outgrown tables (40 B
 * per store below the limit, tests/unit/sessions/snapshot_cache_test.ts); the cache now drops
 * a batch of the oldest per walk: 0.95 µs (src/sessions/session_cache.ts).
 */
import { SnapshotCache } from "../src/sessions/session_cache.ts";

const LIMIT = 10_000;
const keys = Array.from({ length: 1 << 20 }, (_, i) => `L${String(i).padStart(21, "0")}`);
const value = { expiresAt: 0 };

const full = new SnapshotCache<typeof value>(LIMIT);
let next = 0;
for (; next < LIMIT; next++) full.set(keys[next]!, value);
Deno.bench("store a new entry in a full cache (the oldest goes)", { group: "store" }, () => {
  full.set(keys[next++ & (keys.length - 1)]!, value);
});

const roomy = new SnapshotCache<typeof value>(keys.length * 2);
let stored = 0;
Deno.bench("store a new entry below the limit", { group: "store", baseline: true }, () => {
  roomy.set(keys[stored++ & (keys.length - 1)]!, value);
});
