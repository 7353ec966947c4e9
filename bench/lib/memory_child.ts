/**
 * Measures what N sessions cost in a MemoryStore: RSS and heap before and after filling it,
 * after a full GC each time. Prints one JSON line. Runs on Deno (`--v8-flags=--expose-gc`) and
 * on Bun (`Bun.gc(true)`).
 *
 *   deno run -A --v8-flags=--expose-gc bench/lib/memory_child.ts 100000
 *   bun bench/lib/memory_child.ts 100000
 */
import process from "node:process";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { fillStore } from "./sessions.ts";

const count = Number(process.argv[2] ?? "100000");
const runtime = globalThis as unknown as {
  gc?: () => void;
  Bun?: { gc(force: boolean): void };
};

function collect(): void {
  for (let i = 0; i < 3; i++) {
    if (runtime.Bun) runtime.Bun.gc(true);
    else runtime.gc?.();
  }
}

function sample() {
  collect();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}

const store = new MemoryStore({ maxEntries: count + 1 });
// Warm the code paths first so that compiled code is not counted as session cost.
await fillStore(store, 0, 1000, 0);
await store.close();
const live = new MemoryStore({ maxEntries: count + 1 });
const before = sample();
await fillStore(live, 0, count, Math.floor(count / 10));
const after = sample();
const sessions = (await live.listSessions()).length;
console.log(JSON.stringify({
  runtime: runtime.Bun ? "bun" : "deno",
  sessions,
  rssBefore: before.rss,
  rssAfter: after.rss,
  heapBefore: before.heapUsed,
  heapAfter: after.heapUsed,
}));
