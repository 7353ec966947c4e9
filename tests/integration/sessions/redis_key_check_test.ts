/**
 * The key check (`<prefix>key_check`) after Redis lost its data, on a real redis-server. The
 * start recorded it only when there was none, so after a FLUSHALL or a restart without
 * persistence the next bridge to start recorded its own, even with another key: README's "a
 * bridge started with another key refuses to start" held no more, and the bridges with the
 * right key then failed at their next start. Each sweep puts the check back now, and a sweep
 * that finds another key's check says so.
 */
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import type { Redis } from "ioredis";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { eventually } from "../../support/eventually.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "key-check-test:";
const KEY = 7;
const OTHER_KEY = 9;

/** A bridge's store on `url` whose encryption key is 32 bytes of `keyByte`. */
async function openStore(
  url: string,
  keyByte: number,
  now: () => number = () => T0,
): Promise<RedisStore> {
  return await RedisStore.open({
    client: await connectRedis(redisSettings(url, PREFIX, { storeTimeoutMs: 1_000 })),
    keyPrefix: PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(keyByte)),
    maxEntries: 100,
    now,
    description: url,
  });
}

async function withServer(
  body: (server: RedisServer, admin: Redis) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start();
  const admin = await connectRedis(redisSettings(server.url, "admin:"));
  try {
    await body(server, admin);
  } finally {
    admin.disconnect();
    await server.dispose();
  }
}

/** Asked on a connection of its own: a restart dropped the admin's. */
async function keyCheckExists(url: string): Promise<boolean> {
  const client = await connectRedis(redisSettings(url, "admin:"));
  try {
    return await client.exists(`${PREFIX}key_check`) === 1;
  } finally {
    client.disconnect();
  }
}

const LOSSES: Record<string, (server: RedisServer, admin: Redis) => Promise<void>> = {
  "a FLUSHALL": async (_, admin) => void await admin.flushall(),
  "a restart without persistence": async (server) => {
    await server.stop();
    await server.start();
  },
};

for (const [loss, lose] of Object.entries(LOSSES)) {
  Deno.test(`RedisStore: after ${loss}, the next sweep puts the key check back, and a bridge with another key is refused again`, async () => {
    await withServer(async (server, admin) => {
      const store = await openStore(server.url, KEY);
      try {
        await store.putSession(session());
        await lose(server, admin);
        assertEquals(await keyCheckExists(server.url), false);
        await eventually(() => store.sweep(T0));

        const error = await assertRejects(() => openStore(server.url, OTHER_KEY));
        assertMatch((error as Error).message, /^Session store key mismatch: redis:\/\//);
        // The bridge with the right key starts again, and reads what the first one writes.
        const again = await openStore(server.url, KEY);
        await store.putSession(session({ refreshToken: "rt-after" }));
        assertEquals((await again.getSession("sess-1"))?.refreshToken, "rt-after");
        await again.close();
      } finally {
        await store.close();
      }
    });
  });
}

Deno.test("RedisStore: a sweep that finds another key's check (recorded after a FLUSHALL) logs an error once a minute and still sweeps", async () => {
  await withServer(async (server, admin) => {
    let now = T0;
    const store = await openStore(server.url, KEY, () => now);
    let other: RedisStore | undefined;
    const logs = captureLogs();
    try {
      await admin.flushall();
      // Before any sweep of the first: Redis holds no check, so this one records its own.
      other = await openStore(server.url, OTHER_KEY);
      await other.putSession(session({ sessionId: "expired", expiresAt: T0 - 1 }));
      for (let sweep = 0; sweep < 3; sweep++) {
        assertEquals((await store.sweep(T0)).sessions, sweep === 0 ? 1 : 0);
      }
      const errors = () => logs.lines.filter((line) => line.level === "error");
      assertEquals(errors().length, 1, "once a minute, not at each sweep");
      assertEquals(
        errors()[0]!.text,
        `Session store key mismatch: ${server.url} (key prefix ${PREFIX}) holds the key check ` +
          "of another sessions.encryption_key (or http.secret), recorded by a bridge started " +
          "with it while Redis held none (a FLUSHALL, a restart without persistence): the " +
          "bridges on the two keys cannot read each other's sessions, and this one will not " +
          "start again; stop the bridge with the other key, give it this one, and delete " +
          `${PREFIX}key_check`,
      );
      now += 60_000;
      await store.sweep(T0);
      assertEquals(errors().length, 2, "again a minute later");
      // The other key's check is left as it is: compared, never overwritten.
      const stillOther = await assertRejects(() => openStore(server.url, KEY));
      assertMatch((stillOther as Error).message, /^Session store key mismatch/);
    } finally {
      logs.stop();
      await other?.close();
      await store.close();
    }
  });
});
