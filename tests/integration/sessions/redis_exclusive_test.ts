/**
 * RedisStore.exclusive: the lock bridges sharing one Redis take so that one sign-in of a user
 * at a time counts and stores (`sessions.max_per_user`), whichever instance it reaches.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import type { Redis } from "ioredis";
import { createHash } from "node:crypto";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { minimalTomlWith, parseInlineToml } from "../../support/config_toml.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const PREFIX = "exclusive:";

async function openStore(
  url: string,
  storeTimeoutMs: number,
): Promise<{ store: RedisStore; client: Redis }> {
  const client = await connectRedis(redisSettings(url, PREFIX, { storeTimeoutMs }));
  const store = await RedisStore.open({
    client,
    keyPrefix: PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 100,
    description: url,
  });
  return { store, client };
}

type Opened = { store: RedisStore; client: Redis };

/**
 * A redis-server and two stores (bridges) on it with this `sessions.store_timeout`, closed and
 * stopped whatever happens.
 */
async function withStores(
  run: (a: Opened, b: Opened) => Promise<void>,
  storeTimeoutMs = 2_000,
) {
  const server = await RedisServer.start();
  const opened: Opened[] = [];
  try {
    const a = await openStore(server.url, storeTimeoutMs);
    opened.push(a);
    const b = await openStore(server.url, storeTimeoutMs);
    opened.push(b);
    await run(a, b);
  } finally {
    for (const { store, client } of opened) {
      await store.close().catch(() => {});
      client.disconnect();
    }
    await server.dispose();
  }
}

/** The lock's time to live (PTTL) as Redis reports it from under the lock just taken. */
function lockExpiryMs(a: Opened): Promise<number> {
  return a.store.exclusive("n", async () => {
    const keys = await a.client.keys(`${PREFIX}lk:*`);
    assertEquals(keys.length, 1);
    return await a.client.pttl(keys[0]!);
  });
}

Deno.test("exclusive(): two bridges sharing Redis run work under one name one at a time, and other names at once", async () => {
  await withStores(async (a, b) => {
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstIn!: () => void;
    const firstEntered = new Promise<void>((resolve) => (firstIn = resolve));
    const first = a.store.exclusive("max_per_user\0u-1", async () => {
      events.push("a in");
      firstIn();
      await firstHolds;
      events.push("a out");
    });
    await firstEntered;
    const second = b.store.exclusive("max_per_user\0u-1", () => {
      events.push("b in");
      return Promise.resolve();
    });
    // Another user's sign-in is not held up by alice's.
    await b.store.exclusive("max_per_user\0u-2", () => {
      events.push("other user");
      return Promise.resolve();
    });
    assertEquals(events, ["a in", "other user"]);
    releaseFirst();
    await Promise.all([first, second]);
    assertEquals(events, ["a in", "other user", "a out", "b in"]);
    // Freed after each: no lock left behind.
    assertEquals(await a.client.keys(`${PREFIX}lk:*`), []);
  });
});

Deno.test("exclusive(): work that throws frees the lock; a lock whose holder died runs out by itself", async () => {
  await withStores(async (a) => {
    const failed = await a.store.exclusive("n", () => Promise.reject(new Error("boom")))
      .then(() => "no error", (error: Error) => error.message);
    assertEquals(failed, "boom");
    assertEquals(await a.store.exclusive("n", () => Promise.resolve("free again")), "free again");
    // Every lock has an expiry, so that one whose holder died does not stay.
    const ttlSeen = await lockExpiryMs(a);
    assert(ttlSeen > 0, `lock expiry ${ttlSeen} ms`);
    // A bridge that died holding the lock (its key, with a short expiry here): the next sign-in
    // waits for it to run out, then goes on.
    const deadKey = `${PREFIX}lk:${createHash("sha256").update("n").digest("base64url")}`;
    await a.client.set(deadKey, "token-of-a-dead-bridge", "PX", 300);
    const after = await a.store.exclusive("n", async () => await a.client.get(deadKey));
    assert(after !== "token-of-a-dead-bridge", "ran while the dead bridge's lock was held");
  });
});

Deno.test("exclusive(): the lock outlives the store calls under it, however long store_timeout lets each take", async () => {
  await withStores(async (a) => {
    const ttlSeen = await lockExpiryMs(a);
    // The answer to the lock call, the count and the put may take 30 s each: a lock that ran
    // out meanwhile would let another bridge count and store a second sign-in of the user.
    // README: 3 x store_timeout + 10 s.
    assert(ttlSeen > 99_000 && ttlSeen <= 100_000, `lock expiry ${ttlSeen} ms`);
  }, 30_000);
});

Deno.test("exclusive(): the lock runs out after 16 s with the default store_timeout, as README says", async () => {
  const { sessions } = parseInlineToml(
    minimalTomlWith("sessions", ['backend = "redis"', 'url = "redis://127.0.0.1:6379/0"']),
  ).config;
  await withStores(async (a) => {
    const ttlSeen = await lockExpiryMs(a);
    // README: "3 x store_timeout + 10 s, 16 s by default".
    assert(ttlSeen > 15_000 && ttlSeen <= 16_000, `lock expiry ${ttlSeen} ms`);
  }, sessions.redis!.storeTimeoutMs);
});

/** The store's LOCK_RETRY_MS and LOCK_ATTEMPTS (redis_store.ts): 10 s in all. */
const RETRY_MS = 20;
const ATTEMPTS = 500;

// A sign-in behind a holder that hangs is denied ("try again"), never held up for longer. The
// store's retry waits are made to pass at once, so the test does not take the wait's 10 s.
Deno.test("exclusive(): a lock another bridge keeps is waited for 10 s at most, then the store counts as unavailable", async () => {
  await withStores(async (holder, waiter) => {
    const realSetTimeout = globalThis.setTimeout;
    let release = () => {};
    const taken = Promise.withResolvers<void>();
    const held = holder.store.exclusive("user-1", () => {
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
        () => waiter.store.exclusive("user-1", () => Promise.resolve()),
        StoreUnavailableError,
        "Session store lock busy for 10 s",
      );
      assertEquals(waits, ATTEMPTS, "retry waits before giving up");
    } finally {
      globalThis.setTimeout = realSetTimeout;
      release();
      await held;
    }
  });
});
