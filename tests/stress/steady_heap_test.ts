/**
 * A busy server's day in a few seconds: every established client renegotiates again and again
 * (REAUTH), and new clients connect and leave before signing in. Whatever the bridge keeps for
 * an event must go with it: after the run the heap is where it was after the warm-up, for the
 * memory and the file store: 120-250 KB either way, whatever the number of rounds. (The file
 * store's cache once kept ~40 B per store for good: this run left 3.1 MB behind, see
 * tests/unit/sessions/snapshot_cache_test.ts.) The released binary runs on Bun, whose engine keeps
 * other things alive than V8 does: the same day runs there too (_steady_heap_bun_child.ts), read
 * through the management protocol in 64 KB chunks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import { testClientEvents, testEnv } from "../support/client_events_fixture.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { runUnderBun } from "../support/bun_child.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { establishedSession, sessionIdOf, withFileStore } from "./_fixtures.ts";

const CLIENTS = 2_000;
const NEWCOMERS_PER_ROUND = 100;
const WARM_UP_ROUNDS = 3;
const ROUNDS = 80;
/** Well under what the leaking cache kept here (3.1 MB), well over the heap's noise. */
const GROWTH_BUDGET_BYTES = 1_000_000;
const T0 = 1_800_000_000_000;
const MAX_ENTRIES = 100_000;

async function steadyHeapGrowth(store: SessionStore, clock: FakeClock): Promise<number> {
  const { events, commander } = eventsOf(store, clock);
  for (let client = 0; client < CLIENTS; client++) {
    await store.putSession(establishedSession(client, T0));
  }
  const reauthEnv = Array.from({ length: CLIENTS }, (_, client) =>
    testEnv(clientEnv({
      common_name: `user${client}`,
      session_id: sessionIdOf(client),
      session_state: "Authenticated",
    })));
  let nextNewcomer = 1_000_000;
  const round = async (kid: number) => {
    clock.time += 60_000;
    for (let client = 0; client < CLIENTS; client++) {
      await events.onReauth(client, kid, reauthEnv[client]!);
    }
    const newcomers: number[] = [];
    for (let i = 0; i < NEWCOMERS_PER_ROUND; i++) {
      const cid = nextNewcomer++;
      newcomers.push(cid);
      await events.onConnect(
        cid,
        1,
        testEnv(clientEnv({ common_name: `new${cid}`, session_id: `new-session-${cid}` })),
      );
    }
    for (const cid of newcomers) await events.onDisconnect(cid);
    const kinds = commander.commands.map((command) => command.kind);
    assertEquals(kinds.filter((kind) => kind === "auth-nt").length, CLIENTS, `round ${kid}`);
    assertEquals(kinds.filter((kind) => kind === "pending").length, NEWCOMERS_PER_ROUND);
    commander.commands.length = 0;
  };
  let kid = 2;
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await round(kid++);
  const warm = await settledHeap();
  for (let i = 0; i < ROUNDS; i++) await round(kid++);
  const growth = (await settledHeap()) - warm;
  // Still answering from the same sessions after the measurement.
  assertEquals((await store.getSession(sessionIdOf(7)))?.cid, 7);
  events.close();
  return growth;
}

function eventsOf(store: SessionStore, clock: FakeClock) {
  return testClientEvents({ store, clock, authPendingTimeoutMs: 180_000 });
}

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
    assertSteady(await steadyHeapGrowth(store, clock));
  } finally {
    await store.close();
  }
});

Deno.test("REAUTHs, CONNECTs and DISCONNECTs leave the heap where it was: file store", async () => {
  const clock = new FakeClock(T0);
  await withFileStore(MAX_ENTRIES, clock.now, async (store) => {
    assertSteady(await steadyHeapGrowth(store, clock));
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
