/**
 * One bridge's RedisStore on a redis-server of its own, for tests that drive the store and look
 * under it with the raw client (keys, TTLs, a lock another bridge took). Everything is closed
 * and the server stopped whatever the test does.
 */
import type { Redis } from "ioredis";
import { connectRedis } from "../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../src/sessions/token_cipher.ts";
import { RedisServer } from "./redis_server.ts";
import { redisSettings } from "./redis_settings.ts";

export interface RedisStoreFixtureOptions {
  /** `sessions.key_prefix`: the raw client sees the store's keys under it. */
  keyPrefix: string;
  /** The store's clock; the store's own default (the real clock) unless given. */
  now?: () => number;
}

/**
 * Runs `run` with a client of the store's own connection code (keys under `keyPrefix`) on a
 * redis-server of its own, then disconnects it and stops the server.
 */
export async function withRedisClient(
  keyPrefix: string,
  run: (client: Redis, url: string) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start();
  try {
    const client = await connectRedis(
      redisSettings(server.url, keyPrefix, { storeTimeoutMs: 2_000 }),
    );
    try {
      await run(client, server.url);
    } finally {
      client.disconnect();
    }
  } finally {
    await server.dispose();
  }
}

/** Runs `run` with the store and its connection, then closes both and stops the server. */
export function withRedisStore(
  options: RedisStoreFixtureOptions,
  run: (opened: { store: RedisStore; client: Redis }) => Promise<void>,
): Promise<void> {
  return withRedisClient(options.keyPrefix, async (client, url) => {
    const store = await RedisStore.open({
      client,
      keyPrefix: options.keyPrefix,
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
      maxEntries: 100,
      ...(options.now ? { now: options.now } : {}),
      description: url,
    });
    try {
      await run({ store, client });
    } finally {
      await store.close();
    }
  });
}
