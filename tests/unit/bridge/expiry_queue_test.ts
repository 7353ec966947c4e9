import { assert, assertEquals } from "../../support/assert.ts";
import { ExpiryQueue } from "../../../src/bridge/expiry_queue.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { seededRandom } from "../../support/prng.ts";
import { MAX_TIMER_DELAY_MS } from "../../../src/clock.ts";

type Entry = { n: number; expiresAt: number };

const TIMER_LIMIT_MS = MAX_TIMER_DELAY_MS;

function queueOn(clock: FakeClock) {
  const expired: number[] = [];
  const queue = new ExpiryQueue<Entry>((entry) => expired.push(entry.n), clock);
  return { queue, expired };
}

Deno.test("ExpiryQueue calls back for each entry once its time has come, in order", () => {
  const clock = new FakeClock(1000);
  const { queue, expired } = queueOn(clock);
  queue.add({ n: 1, expiresAt: 1005 });
  queue.add({ n: 2, expiresAt: 1010 });
  queue.add({ n: 3, expiresAt: 61_000 });
  clock.advance(4);
  assertEquals(expired, []);
  clock.advance(1);
  assertEquals(expired, [1]);
  clock.advance(5);
  assertEquals(expired, [1, 2]);
  assertEquals(queue.size, 1);
  assertEquals(clock.pendingTimers, 1, "one timer for the rest of the queue");
  queue.close();
  assertEquals(queue.size, 0);
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("ExpiryQueue keeps one timer however many entries wait", () => {
  const clock = new FakeClock(0);
  const { queue, expired } = queueOn(clock);
  for (let n = 1; n <= 1000; n++) queue.add({ n, expiresAt: 100 + n });
  assertEquals(clock.pendingTimers, 1);
  clock.advance(600);
  assertEquals(expired.length, 500);
  assertEquals(expired.slice(0, 3), [1, 2, 3]);
  clock.advance(600);
  assertEquals(expired.length, 1000);
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("ExpiryQueue.close() stops every pending callback and ignores later adds", () => {
  const clock = new FakeClock(1000);
  const { queue, expired } = queueOn(clock);
  queue.add({ n: 1, expiresAt: 1005 });
  queue.close();
  queue.add({ n: 2, expiresAt: 1000 });
  clock.advance(60_000);
  assertEquals(expired, []);
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("ExpiryQueue hands out what is already due when the next entry is added", () => {
  const clock = new FakeClock(1000);
  const { queue, expired } = queueOn(clock);
  queue.add({ n: 1, expiresAt: 2000 });
  queue.add({ n: 2, expiresAt: 2500 });
  clock.time = 3000; // the host was suspended: the timer has not fired yet
  queue.add({ n: 3, expiresAt: 4000 });
  assertEquals(expired, [1, 2]);
  assertEquals(queue.size, 1);
  queue.close();
});

Deno.test("ExpiryQueue: an entry that expires before those queued (auth_pending_timeout shortened by a reload) goes at its own time", () => {
  const clock = new FakeClock(0);
  const { queue, expired } = queueOn(clock);
  queue.add({ n: 1, expiresAt: 1_800_000 }); // 30 min
  queue.add({ n: 2, expiresAt: 1_800_500 });
  clock.advance(1000);
  queue.add({ n: 3, expiresAt: 61_000 }); // after the reload: 1 min
  queue.add({ n: 4, expiresAt: 61_000 });
  queue.add({ n: 5, expiresAt: 900_000 });
  assertEquals(clock.pendingTimers, 1);
  clock.advance(60_000);
  assertEquals(expired, [3, 4]);
  clock.advance(839_000);
  assertEquals(expired, [3, 4, 5]);
  clock.advance(900_000);
  assertEquals(expired, [3, 4, 5, 1]);
  clock.advance(500);
  assertEquals(expired, [3, 4, 5, 1, 2]);
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("ExpiryQueue hands out every entry at its time, soonest first and in the order added among equals, under random adds out of order and expiries (against a naive model)", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const random = seededRandom(seed);
    const clock = new FakeClock(0);
    const { queue, expired } = queueOn(clock);
    // The model: what waits, in the order added, and what must have been handed out so far.
    let waiting: Entry[] = [];
    const handedOut: number[] = [];
    const expireDue = () => {
      const now = clock.now();
      const due = waiting.filter((entry) => entry.expiresAt <= now)
        .sort((a, b) => a.expiresAt - b.expiresAt || a.n - b.n);
      waiting = waiting.filter((entry) => entry.expiresAt > now);
      handedOut.push(...due.map((entry) => entry.n));
    };
    let timeout = 1000;
    let added = 0;
    for (let step = 0; step < 400; step++) {
      const roll = random();
      if (roll < 0.05) {
        // A reload: the timeout is shortened (or lengthened); multiples of 50 make ties.
        timeout = 50 * Math.floor(random() * 40);
      } else if (roll < 0.55) {
        // A sign-in; now and then one adopted with its deadline already past.
        const late = random() < 0.1 ? -10 * Math.floor(random() * 20) : 0;
        const entry = { n: ++added, expiresAt: clock.now() + (late || timeout) };
        waiting.push(entry);
        queue.add(entry);
        expireDue();
      } else if (roll < 0.9) {
        clock.advance(10 * Math.floor(random() * 30));
        expireDue();
      } else {
        // A suspended host: time jumps and no timer fires until the next add or advance.
        clock.time = clock.now() + 10 * Math.floor(random() * 60);
      }
      const where = `seed ${seed}, step ${step}`;
      assertEquals(expired, handedOut, where);
      assertEquals(queue.size, waiting.length, where);
      assertEquals(clock.pendingTimers, waiting.length > 0 ? 1 : 0, where);
    }
    clock.advance(100_000);
    expireDue();
    assertEquals(expired, handedOut, `seed ${seed}, at the end`);
    assertEquals([queue.size, clock.pendingTimers], [0, 0], `seed ${seed}, at the end`);
    queue.close();
  }
});

Deno.test("ExpiryQueue after the wall clock was stepped back a month: its timer stays within the limit, and the entry expires on time", () => {
  const clock = new FakeClock(1_800_000_000_000);
  const { queue, expired } = queueOn(clock);
  // Made while the clock ran a month ahead; the clock is then set right before it expires.
  const expiresAt = clock.now() + 180_000;
  queue.add({ n: 1, expiresAt });
  clock.stepWall(-30 * 24 * 3_600_000);
  clock.advance(180_000);
  assertEquals(expired, []);
  const longest = Math.max(...clock.delays);
  assert(longest <= TIMER_LIMIT_MS, `a timer armed ${longest} ms ahead`);
  assertEquals(clock.pendingTimers, 1);
  clock.advanceTo(expiresAt - 1);
  assertEquals(expired, []);
  clock.advanceTo(expiresAt);
  assertEquals(expired, [1]);
  assertEquals(clock.delays.length, 3, `timer delays: ${clock.delays.join(", ")}`);
  assertEquals(clock.pendingTimers, 0);
});
