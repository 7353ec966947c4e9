import { assertEquals } from "../../support/assert.ts";
import { ExpiryQueue } from "../../../src/bridge/expiry_queue.ts";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("ExpiryQueue calls back for each entry once its time has come, in order", async () => {
  const expired: number[] = [];
  const start = Date.now();
  const queue = new ExpiryQueue<{ n: number; expiresAt: number }>(
    (entry) => expired.push(entry.n),
    Date.now,
  );
  queue.add({ n: 1, expiresAt: start + 5 });
  queue.add({ n: 2, expiresAt: start + 10 });
  queue.add({ n: 3, expiresAt: start + 60_000 });
  while (expired.length < 2) await wait(5);
  assertEquals(expired, [1, 2]);
  assertEquals(queue.size, 1);
  queue.close();
  assertEquals(queue.size, 0);
});

Deno.test("ExpiryQueue.close() stops every pending callback and ignores later adds", async () => {
  const expired: number[] = [];
  const queue = new ExpiryQueue<{ n: number; expiresAt: number }>(
    (entry) => expired.push(entry.n),
    Date.now,
  );
  queue.add({ n: 1, expiresAt: Date.now() + 5 });
  queue.close();
  queue.add({ n: 2, expiresAt: Date.now() });
  await wait(20);
  assertEquals(expired, []);
});

Deno.test("ExpiryQueue hands out what is already due when the next entry is added", () => {
  const clock = { time: 1000 };
  const expired: number[] = [];
  const queue = new ExpiryQueue<{ n: number; expiresAt: number }>(
    (entry) => expired.push(entry.n),
    () => clock.time,
  );
  queue.add({ n: 1, expiresAt: 2000 });
  queue.add({ n: 2, expiresAt: 2500 });
  clock.time = 3000; // the host was suspended: the timer has not fired yet
  queue.add({ n: 3, expiresAt: 4000 });
  assertEquals(expired, [1, 2]);
  assertEquals(queue.size, 1);
  queue.close();
});
