/**
 * KeyedLock hands a busy key on in arrival order: the old cid's DISCONNECT queued before the same
 * client's new CONNECT must run before it, whatever else waits for the session.
 */
import { assertEquals } from "../../support/assert.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";

Deno.test("KeyedLock runs every waiter of a busy key in arrival order, not only the first", async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  let release!: () => void;
  const held = lock.run("s1", () => new Promise<void>((resolve) => release = resolve));
  const waiters = ["b", "c", "d"].map((name) =>
    lock.run("s1", () => {
      order.push(name);
      return Promise.resolve();
    })
  );
  release();
  await Promise.all([held, ...waiters]);
  assertEquals(order, ["b", "c", "d"]);
  assertEquals(lock.size, 0);
});
