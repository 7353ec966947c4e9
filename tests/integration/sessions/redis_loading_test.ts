/**
 * A start against a real redis-server still loading its data set, as after its own restart when
 * both start at boot: it accepts connections and answers the store's calls with LOADING until it
 * is done. The start waits for it (one info line), within the connection's start deadline, and
 * fails with an error saying so once that has passed; it failed at once, with a bare LOADING.
 */
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "loading-test:";
/** Keys in the snapshot, each loaded 1 ms late (key-load-delay): some 1.5 s of LOADING. */
const KEYS = 1_500;

/**
 * Runs `run` on a redis-server restarted from a snapshot of KEYS keys, while it loads it: its
 * loop answers clients every KiB loaded (the least Redis allows) instead of every 2 MiB, so that
 * LOADING is what a client gets meanwhile.
 */
async function whileLoading(run: (server: RedisServer) => Promise<void>): Promise<void> {
  const server = await RedisServer.start({
    persist: true,
    extraArgs: ["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"],
  });
  try {
    const admin = await connectRedis(redisSettings(server.url, "admin:"));
    try {
      await admin.eval(
        "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'filler:' .. i, 'x') end",
        0,
        KEYS,
      );
    } finally {
      admin.disconnect();
    }
    await server.stop();
    await server.start({ until: "loading" });
    await run(server);
  } finally {
    await server.dispose();
  }
}

Deno.test("openSessionStore(): a Redis still loading its data set is waited for, with one info line, and the store opens once it is loaded", async () => {
  await whileLoading(async (server) => {
    const logs = captureLogs();
    try {
      const store = await openSessionStore(
        sessionsConfig({ backend: "redis", redis: redisSettings(server.url, PREFIX) }),
        new Secret("http"),
        () => T0,
      );
      try {
        await store.putSession(session());
        assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
      } finally {
        await store.close();
      }
      const waits = logs.lines.filter((line) => /loading its data set/.test(line.text));
      assertEquals(waits.map((line) => line.level), ["info"]);
      assertMatch(
        waits[0]!.text,
        /^Session store redis:\/\/127\.0\.0\.1:\d+\/0 is loading its data set \(Redis restarted\): the start waits for it, up to 10 s$/,
      );
    } finally {
      logs.stop();
    }
  });
});

Deno.test("connectRedis(): a Redis still loading its data set at the start deadline fails the start, saying so", async () => {
  await whileLoading(async (server) => {
    const logs = captureLogs();
    try {
      const error = await assertRejects(
        () => connectRedis(redisSettings(server.url, PREFIX), 300),
        StoreUnavailableError,
      );
      assertMatch(
        error.message,
        /^Session store redis:\/\/127\.0\.0\.1:\d+\/0 was still loading its data set after 0\.3 s, the most the start waits: LOADING Redis is loading the dataset in memory$/,
      );
    } finally {
      logs.stop();
    }
  });
});
