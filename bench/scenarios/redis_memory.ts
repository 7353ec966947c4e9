/**
 * B4, Redis part: what one session costs in Redis (`INFO memory` used_memory before and after
 * putting bench sessions through the store), on a redis-server of its own stopped by pid.
 */
import { connectRedis } from "../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../src/sessions/token_cipher.ts";
import { RedisServer } from "../../tests/support/redis_server.ts";
import { redisSettings } from "../../tests/support/redis_settings.ts";
import { printTable } from "../lib/report.ts";
import { benchSession } from "../lib/sessions.ts";

export async function redisMemoryPerSession(count: number) {
  const server = await RedisServer.start();
  try {
    const keyPrefix = "openvpn-auth-oidc:";
    const client = await connectRedis(
      redisSettings(server.url, keyPrefix, { storeTimeoutMs: 2_000 }),
    );
    const store = await RedisStore.open({
      client,
      keyPrefix,
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(1)),
      maxEntries: count + 1,
      description: server.url,
    });
    try {
      const used = async () => Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
      const before = await used();
      const now = Date.now();
      for (let i = 0; i < count; i++) await store.putSession(benchSession(i, i, now));
      const bytesPerSession = Math.round((await used() - before) / count);
      printTable(`B4 Redis memory: ${count} bound sessions`, [{
        "used_memory per session (bytes)": bytesPerSession,
      }]);
      return { sessions: count, bytesPerSession };
    } finally {
      await store.close();
    }
  } finally {
    await server.dispose();
  }
}
