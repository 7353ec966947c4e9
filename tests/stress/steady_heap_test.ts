/**
 * A busy server's day in a few seconds (_steady_day.ts): every established client renegotiates
 * again and again (REAUTH), and new clients connect and leave before signing in, read through the
 * management protocol in 64 KB chunks. Whatever the bridge keeps for
 * an event must go with it: over each of two 40-round windows after the warm-up the heap grows by
 * 120-350 KB either way, whatever the number of rounds, for the memory and the file store. (The
 * file store's cache once kept ~20 B per REAUTH for good: 3.1 MB over 80 rounds, 1.5 MB a window,
 * see tests/unit/sessions/snapshot_cache_test.ts.) The released binary runs on Bun, whose engine
 * keeps other things alive than V8 does: the same day runs there too (_steady_heap_bun_child.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { assert } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { runUnderBun } from "../support/bun_child.ts";
import { withFileStore } from "./_fixtures.ts";
import { CLIENTS, NEWCOMERS_PER_ROUND, type SteadyHeap, steadyHeapGrowth } from "./_steady_day.ts";

/** Rounds in each of the two measured windows. */
const ROUNDS = 40;
/** Well under what the leaking cache kept in a window (1.5 MB), well over the heap's noise. */
const GROWTH_BUDGET_BYTES = 1_000_000;
const T0 = 1_800_000_000_000;
const MAX_ENTRIES = 100_000;

const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

function assertSteady(heap: SteadyHeap, runtime: string, store: string): void {
  assert(
    heap.kept < GROWTH_BUDGET_BYTES,
    `${runtime}${store}: the heap grew by ${kib(heap.windows[0])} and then ${
      kib(heap.windows[1])
    } ` +
      `over two windows of ${ROUNDS * CLIENTS} REAUTHs and ${
        ROUNDS * NEWCOMERS_PER_ROUND
      } CONNECTs`,
  );
}

Deno.test("REAUTHs, CONNECTs and DISCONNECTs leave the heap where it was: memory store", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: MAX_ENTRIES, now: clock.now });
  try {
    assertSteady(await steadyHeapGrowth(store, clock, ROUNDS), "Deno", ", memory store");
  } finally {
    await store.close();
  }
});

Deno.test("REAUTHs, CONNECTs and DISCONNECTs leave the heap where it was: file store", async () => {
  const clock = new FakeClock(T0);
  await withFileStore(MAX_ENTRIES, clock.now, async (store) => {
    assertSteady(await steadyHeapGrowth(store, clock, ROUNDS), "Deno", ", file store");
  });
});

Deno.test("on Bun, REAUTHs, CONNECTs and DISCONNECTs read from 64 KB chunks leave the heap where it was: memory and file store", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stress-steady-bun-"));
  try {
    const { memory, file } = await runUnderBun(
      new URL("./_steady_heap_bun_child.ts", import.meta.url),
      [dir, String(ROUNDS)],
    ) as { memory: SteadyHeap; file: SteadyHeap };
    assertSteady(memory, "Bun", ", memory store");
    assertSteady(file, "Bun", ", file store");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
