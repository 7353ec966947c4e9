import { assertEquals } from "../../support/assert.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { canResume } from "../../../src/bridge/client_events.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

Deno.test("KeyedLock runs work for one key in arrival order, other keys in parallel", async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const slow = lock.run("s1", async () => {
    order.push("a-start");
    await tick();
    await tick();
    order.push("a-end");
  });
  const other = lock.run("s2", () => {
    order.push("c");
    return Promise.resolve();
  });
  const queued = lock.run("s1", () => {
    order.push("b");
    return Promise.resolve();
  });
  await Promise.all([slow, other, queued]);
  assertEquals(order, ["a-start", "c", "a-end", "b"]);
  assertEquals(lock.size, 0);
});

Deno.test("KeyedLock releases the key when the work fails", async () => {
  const lock = new KeyedLock();
  await lock.run("s", () => Promise.reject(new Error("boom"))).catch(() => {});
  assertEquals(await lock.run("s", () => Promise.resolve(42)), 42);
  assertEquals(lock.size, 0);
});

Deno.test("KeyedLock releases the key when the work throws before it returns a promise, free or waited for", async () => {
  const lock = new KeyedLock();
  const boom = (): Promise<number> => {
    throw new Error("boom");
  };
  const holding = lock.run("s", tick);
  const waited = lock.run("s", boom);
  await holding;
  assertEquals(await waited.then(() => "resolved", (error) => String(error)), "Error: boom");
  assertEquals(await lock.run("s", boom).catch((error) => String(error)), "Error: boom");
  assertEquals(await lock.run("s", () => Promise.resolve(42)), 42);
  assertEquals(lock.size, 0);
});

Deno.test("canResume() is true for token and user-name clients, false for certificate-only ones", () => {
  assertEquals(canResume({ sessionState: "Initial", username: "" }), false);
  assertEquals(canResume({ sessionState: "Initial", username: "alice" }), true);
  assertEquals(canResume({ sessionState: "Authenticated", username: "" }), true);
  assertEquals(canResume({ sessionState: "AuthenticatedEmptyUser", username: "" }), true);
  assertEquals(canResume({ sessionState: "Expired", username: "" }), false);
});

Deno.test("KeyedLock holds a key by its text: a slice of a chunk and an equal copy contend", async () => {
  const lock = new KeyedLock();
  const chunk = ">CLIENT:REAUTH,1,2\n>CLIENT:ENV,session_id=AAECAwQFBgcICQoLDA0ODw\n";
  const at = chunk.indexOf("=") + 1;
  const slice = chunk.slice(at, chunk.indexOf("\n", at));
  const order: string[] = [];
  const first = lock.run(slice, async () => {
    order.push("slice-start");
    await tick();
    order.push("slice-end");
  });
  const second = lock.run("AAECAwQFBgcICQoLDA0ODw", () => {
    order.push("copy");
    return Promise.resolve();
  });
  await Promise.all([first, second]);
  assertEquals(order, ["slice-start", "slice-end", "copy"]);
  assertEquals(lock.size, 0);
});
