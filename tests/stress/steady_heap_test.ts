/**
 * A busy server's day in a few seconds (_steady_day.ts): every established client renegotiates
 * again and again (REAUTH), and new clients connect and leave before signing in, read through the
 * management protocol in 64 KB chunks. Whatever the bridge keeps for
 * an event must go with it: after the run the heap is where it was after the warm-up, for the
 * memory and the file store: 120-250 KB either way, whatever the number of rounds. (The file
 * store's cache once kept ~40 B per store for good: this run left 3.1 MB behind, see
 * tests/unit/sessions/snapshot_cache_test.ts.) The released binary runs on Bun, whose engine keeps
 * other things alive than V8 does: the same day runs there too (_steady_heap_bun_child.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { assert } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { runUnderBun } from "../support/bun_child.ts";
import { withFileStore } from "./_fixtures.ts";
import { CLIENTS, NEWCOMERS_PER_ROUND, steadyHeapGrowth } from "./_steady_day.ts";

const ROUNDS = 80;
/** Well under what the leaking cache kept here (3.1 MB), well over the heap's noise. */
const GROWTH_BUDGET_BYTES = 1_000_000;
const T0 = 1_800_000_000_000;
const MAX_ENTRIES = 100_000;

function assertSteady(growth: number): void {
  assert(
    growth < GROWTH_BUDGET_BYTES,
    `Heap ${Math.round(growth / 1024)} KiB above its level after the warm-up, after ` +
      `${ROUNDS * CLIENTS} REAUTHs and ${ROUNDS * NEWCOMERS_PER_ROUND} CONNECTs`,
  );
}

Deno.test("REAUTHs, CONNECTs and DISCONNECTs leave the heap where it was: memory store", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: MAX_ENTRIES, now: clock.now });
  try {
    assertSteady(await steadyHeapGrowth(store, clock, ROUNDS));
  } finally {
    await store.close();
  }
});

Deno.test("REAUTHs, CONNECTs and DISCONNECTs leave the heap where it was: file store", async () => {
  const clock = new FakeClock(T0);
  await withFileStore(MAX_ENTRIES, clock.now, async (store) => {
    assertSteady(await steadyHeapGrowth(store, clock, ROUNDS));
  });
});

Deno.test("on Bun, REAUTHs, CONNECTs and DISCONNECTs read from 64 KB chunks leave the heap where it was: memory and file store", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stress-steady-bun-"));
  try {
    const { memory, file, rounds, clients } = await runUnderBun(
      new URL("./_steady_heap_bun_child.ts", import.meta.url),
      [dir],
    ) as { memory: number; file: number; rounds: number; clients: number };
    for (const [store, growth] of [["memory", memory], ["file", file]] as const) {
      assert(
        growth < GROWTH_BUDGET_BYTES,
        `Bun, ${store} store: heap ${Math.round(growth / 1024)} KiB above its level after the ` +
          `warm-up, after ${rounds * clients} REAUTHs`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
