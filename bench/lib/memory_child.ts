/**
 * Measures what N sessions cost in a MemoryStore: RSS and heap before and after filling it,
 * after a full GC and a second of rest each time (Bun's allocator hands freed pages back to the
 * system a few hundred ms after a collection; sampled at once, its RSS swung by ~250 B per
 * session between runs). Prints one JSON line. Runs on Deno and Bun, each collecting as the
 * memory tests do (tests/support/settled_heap.ts).
 *
 * On Deno it also reports the young generation's size: V8 grows it to ~55 MiB while the store
 * fills and shrinks it only after ~20 s idle. That is memory of the runtime, not of the
 * sessions (the same 55 MiB with 10,000 or 1,000,000 of them), and the caller subtracts it.
 *
 *   deno run -A bench/lib/memory_child.ts 100000
 *   bun bench/lib/memory_child.ts 100000
 */
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import v8 from "node:v8";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { forcedGc } from "../../tests/support/settled_heap.ts";
import { fillStore } from "./sessions.ts";
import { collectPages } from "../../src/sessions/list_chunk.ts";

const count = Number(process.argv[2] ?? "100000");
const ON_BUN = "Bun" in globalThis;
const gc = forcedGc();

function collect(): void {
  for (let i = 0; i < 3; i++) gc?.();
}

/** Bytes of the young generation (V8's new space) now; 0 on Bun, which has none apart. */
function youngGeneration(): number {
  if (ON_BUN) return 0;
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  return space?.physical_space_size ?? 0;
}

async function sample() {
  collect();
  await sleep(1000);
  collect();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, young: youngGeneration() };
}

const store = new MemoryStore({ maxEntries: count + 1 });
// Warm the code paths first so that compiled code is not counted as session cost.
await fillStore(store, 0, 1000, 0);
await store.close();
const live = new MemoryStore({ maxEntries: count + 1 });
const before = await sample();
await fillStore(live, 0, count, Math.floor(count / 10));
const after = await sample();
const sessions = (await collectPages(live.sessionPages())).length;
console.log(JSON.stringify({
  runtime: ON_BUN ? "bun" : "deno",
  sessions,
  rssBefore: before.rss,
  rssAfter: after.rss,
  heapBefore: before.heapUsed,
  heapAfter: after.heapUsed,
  youngBefore: before.young,
  youngAfter: after.young,
}));
