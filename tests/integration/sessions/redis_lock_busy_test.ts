/**
 * RedisStore.exclusive() waits a bounded time for a lock another bridge holds, then fails as an
 * unavailable store: a sign-in behind a holder that hangs is denied ("try again"), never held up
 * for longer. The store's retry waits are made to pass at once, so the test does not take the
 * wait's 10 s of wall time.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { RedisServer } from "../../support/redis_server.ts";

const PREFIX = "lock-busy:";
/** The store's LOCK_RETRY_MS and LOCK_ATTEMPTS (redis_store.ts): 10 s in all. */
const RETRY_MS = 20;
const ATTEMPTS = 500;

async function openStore(url: string): Promise<RedisStore> {
  const client = await connectRedis({
    url,
    username: undefined,
    password: undefined,
    keyPrefix: PREFIX,
    tlsCaFile: undefined,
    storeTimeoutMs: 2_000,
  });
  return await RedisStore.open({
    client,
    keyPrefix: PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(9)),
    maxEntries: 100,
    description: url,
  });
}

Deno.test("exclusive(): a lock another bridge keeps is waited for 10 s at most, then the store counts as unavailable", async () => {
  const server = await RedisServer.start();
  const holder = await openStore(server.url);
  const waiter = await openStore(server.url);
  const realSetTimeout = globalThis.setTimeout;
  let release = () => {};
  const taken = Promise.withResolvers<void>();
  const held = holder.exclusive("user-1", () => {
    taken.resolve();
    return new Promise<void>((done) => (release = done));
  });
  let waits = 0;
  try {
    await taken.promise;
    globalThis.setTimeout = ((callback: () => void, delay?: number) => {
      if (delay !== RETRY_MS) return realSetTimeout(callback, delay);
      // Far past the bound: let the holder go, so that a waiter without one ends all the same.
      if (++waits === 2 * ATTEMPTS) release();
      queueMicrotask(callback);
      return 0;
    }) as typeof setTimeout;
    await assertRejects(
      () => waiter.exclusive("user-1", () => Promise.resolve()),
      StoreUnavailableError,
      "Session store lock busy for 10 s",
    );
    assertEquals(waits, ATTEMPTS, "retry waits before giving up");
  } finally {
    globalThis.setTimeout = realSetTimeout;
    release();
    await held;
    await holder.close();
    await waiter.close();
    await server.dispose();
  }
});
