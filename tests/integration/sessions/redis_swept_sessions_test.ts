/**
 * What a Redis sweep hands on (SessionStore.sweep, for the refresh tokens of expired sessions to
 * be revoked): the sessions of each script call, SWEEP_BATCH at most, before the next call; each
 * once among bridges sweeping together; never a token copied from another session's entry.
 */
import { assertEquals } from "../../support/assert.ts";
import type { Redis } from "ioredis";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { SWEEP_BATCH } from "../../../src/sessions/redis_scripts.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { SweptSession } from "../../../src/sessions/types.ts";
import { MINUTE, session, sweepsCopiedTokenUnhanded, T0 } from "../../unit/sessions/fixtures.ts";
import { withRedisClient } from "../../support/redis_store_fixture.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const PREFIX = "swept-test:";
const SWEPT_AT = T0 + 2 * MINUTE;

/** A bridge's store on the server at `url` (its own connection unless `client` is given). */
async function openStore(url: string, client?: Redis): Promise<RedisStore> {
  return await RedisStore.open({
    client: client ?? await connectRedis(redisSettings(url, PREFIX, { storeTimeoutMs: 2_000 })),
    keyPrefix: PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 10_000,
    now: () => T0,
    description: url,
  });
}

/** `count` sessions s0, s1, ... holding tokens rt-0, rt-1, ..., expired at SWEPT_AT. */
async function putExpired(store: RedisStore, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.putSession(
        session({ sessionId: `s${i}`, refreshToken: `rt-${i}`, expiresAt: T0 + MINUTE }),
      )),
  );
}

Deno.test("RedisStore: sweep() hands on each script call's sessions, SWEEP_BATCH at most, before the next call", () =>
  withRedisClient(PREFIX, async (client, url) => {
    const store = await openStore(url, client);
    try {
      const count = 2 * SWEEP_BATCH + 500;
      await putExpired(store, count);
      // The store calls the scripts on its client (ioredis defineCommand); the auto-pipeline
      // that sends them copies the client's functions, so it calls this one again.
      const scripts = client as unknown as Record<string, (...args: unknown[]) => unknown>;
      const sweepScript = scripts["sweepBuffer"]!;
      const calls: number[] = [];
      scripts["sweepBuffer"] = function (this: unknown, ...args: unknown[]) {
        if (this === client) calls.push(handedOn.length);
        return sweepScript.apply(this, args);
      };
      const handedOn: number[] = [];
      const result = await store.sweep(SWEPT_AT, (sessions) => {
        handedOn.push(sessions.length);
        return Promise.resolve();
      });
      assertEquals(result, { pending: 0, sessions: count });
      assertEquals(handedOn, [SWEEP_BATCH, SWEEP_BATCH, 500]);
      // Each call after the handler took the sessions of the one before.
      assertEquals(calls, [0, 1, 2]);
    } finally {
      await store.close();
    }
  }));

Deno.test("RedisStore: bridges sweeping together hand each expired session on once, on one of them", () =>
  withRedisClient(PREFIX, async (client, url) => {
    const one = await openStore(url, client);
    const two = await openStore(url);
    try {
      const count = 3 * SWEEP_BATCH;
      await putExpired(one, count);
      const tokens: string[] = [];
      const onSwept = (sessions: readonly SweptSession[]) => {
        tokens.push(...sessions.map((swept) => swept.refreshToken));
        return Promise.resolve();
      };
      const [a, b] = await Promise.all([
        one.sweep(SWEPT_AT, onSwept),
        two.sweep(SWEPT_AT, onSwept),
      ]);
      assertEquals(a.sessions + b.sessions, count);
      assertEquals(tokens.length, count);
      assertEquals(new Set(tokens).size, count);
    } finally {
      await one.close();
      await two.close();
    }
  }));

Deno.test("RedisStore: sweep() hands on no token copied from another session's entry, and removes that entry", () =>
  withRedisClient(PREFIX, async (client, url) => {
    const store = await openStore(url, client);
    try {
      // Session a's token copied into b's entry: sealed to a, so not b's to hand on.
      await sweepsCopiedTokenUnhanded(
        store,
        async () =>
          await client.hset(`${PREFIX}s:b`, "t", (await client.hgetBuffer(`${PREFIX}s:a`, "t"))!),
      );
      assertEquals(await client.exists(`${PREFIX}s:b`), 0);
    } finally {
      await store.close();
    }
  }));
