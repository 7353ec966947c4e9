/**
 * 10,000 CONNECTs whose logins are never finished: every pending login must expire on the
 * (driven) clock, vanish from reads at once, be removed by the sweep, and leave memory near
 * its idle level, for both stores. The clock is injected; nothing waits for real time.
 */
import type { ClientEvents } from "../../src/bridge/client_events.ts";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import { PENDING_GRACE_MS } from "../../src/sessions/pending_grace.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import type { RecordingCommander } from "../support/recording_commander.ts";
import { testClientEvents } from "../support/client_events_fixture.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { withFileStore } from "./_fixtures.ts";

const LOGINS = 10_000;
const TIMEOUT_MS = 10_000;
const T0 = 1_800_000_000_000;

function eventsFor(store: SessionStore, clock: FakeClock) {
  return testClientEvents({ store, clock, authPendingTimeoutMs: TIMEOUT_MS });
}

/** Starts LOGINS logins that nobody finishes; returns their ids (from the login URLs). */
async function abandonLogins(
  events: ClientEvents,
  commander: RecordingCommander,
  firstCid: number,
): Promise<string[]> {
  const before = commander.commands.length;
  for (let i = 0; i < LOGINS; i++) {
    const cid = firstCid + i;
    await events.onConnect(
      cid,
      1,
      new Map(Object.entries(clientEnv({
        common_name: `user${cid}`,
        session_id: `abandoned-${cid}`,
      }))),
    );
  }
  const issued = commander.commands.slice(before);
  commander.commands.length = 0;
  assertEquals(issued.length, LOGINS);
  return issued.map((command) => {
    assert(command.kind === "pending", `Expected client-pending-auth, got ${command.kind}`);
    return command.url.slice(command.url.lastIndexOf("/") + 1);
  });
}

async function expireAndSweep(
  store: SessionStore,
  clock: { time: number },
  ids: readonly string[],
): Promise<void> {
  assert((await store.getPending(ids[0]!)) !== undefined, "A fresh pending login is readable");
  assert((await store.getPending(ids.at(-1)!)) !== undefined, "The last one too");
  clock.time += TIMEOUT_MS + 1;
  for (const id of ids) {
    if ((await store.getPending(id)) !== undefined) {
      throw new Error(`Pending login outlived its timeout: #${ids.indexOf(id)}`);
    }
  }
  // Kept a grace past their deadline (for the deadline's own delete), then swept.
  assertEquals(await store.sweep(clock.time), { pending: 0, sessions: 0 });
  clock.time += PENDING_GRACE_MS;
  assertEquals(await store.sweep(clock.time), { pending: LOGINS, sessions: 0 });
  assertEquals(await store.sweep(clock.time), { pending: 0, sessions: 0 });
}

Deno.test("10,000 abandoned logins expire and are swept from the memory store, memory stays bounded", async () => {
  const clock = new FakeClock(T0);
  const now = clock.now;
  const store = new MemoryStore({ maxEntries: LOGINS, now });
  const { events, commander } = eventsFor(store, clock);
  const rounds = 4;
  const idleHeap = await settledHeap();
  let heldHeap = 0;
  for (let round = 0; round < rounds; round++) {
    const ids = await abandonLogins(events, commander, round * LOGINS);
    if (round === 0) heldHeap = await settledHeap();
    await expireAndSweep(store, clock, ids);
  }
  // Once swept, memory is back near idle: a leak would keep about one round's worth per round.
  // A store that was not swept would have refused round 1 (maxEntries = one round).
  const held = heldHeap - idleHeap;
  const growth = (await settledHeap()) - idleHeap;
  assert(held > 0, "Holding 10,000 pending logins takes memory");
  assert(
    growth < held / 2,
    `Heap ${Math.round(growth / 1024)} KiB above idle after ${rounds} rounds; ` +
      `one round held ${Math.round(held / 1024)} KiB`,
  );
  events.close();
  await store.close();
});

Deno.test("10,000 abandoned logins expire and are swept from the file store", async () => {
  const clock = new FakeClock(T0);
  await withFileStore(LOGINS, clock.now, async (store) => {
    const { events, commander } = eventsFor(store, clock);
    for (let round = 0; round < 2; round++) {
      const ids = await abandonLogins(events, commander, round * LOGINS);
      await expireAndSweep(store, clock, ids);
    }
    events.close();
  });
});
