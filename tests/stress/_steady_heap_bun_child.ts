/**
 * Run by steady_heap_test.ts under Bun, the runtime the released binary is built with: the same
 * busy day (_steady_day.ts) for the memory and the file store; prints each store's SteadyHeap
 * as JSON.
 *
 *   bun tests/stress/_steady_heap_bun_child.ts DIR ROUNDS
 */
import process from "node:process";
import { join } from "node:path";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { openFileStore } from "./_fixtures.ts";
import { steadyHeapGrowth } from "./_steady_day.ts";

const T0 = 1_800_000_000_000;

const dir = process.argv[2] ?? "";
const rounds = Number(process.argv[3]);
const memoryClock = new FakeClock(T0);
const memoryStore = new MemoryStore({ maxEntries: 100_000, now: memoryClock.now });
const memory = await steadyHeapGrowth(memoryStore, memoryClock, rounds);
await memoryStore.close();
const fileClock = new FakeClock(T0);
const fileStore = await openFileStore(join(dir, "sessions.sqlite"), 100_000, fileClock.now);
const file = await steadyHeapGrowth(fileStore, fileClock, rounds);
await fileStore.close();
process.stdout.write(`${JSON.stringify({ memory, file })}\n`);
