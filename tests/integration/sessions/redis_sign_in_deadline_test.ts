/**
 * A sign-in's deadline over a real redis-server, in real time: Redis runs a key's TTL down on
 * its own clock, which no fake clock can move. Also when Redis lost the pending login meanwhile
 * (FLUSHALL): outside a cluster nobody else can have taken it, and the client is told why.
 */
import { assertEquals } from "../../support/assert.ts";
import { SIGN_IN_TIMED_OUT } from "../../../src/bridge/denial.ts";
import { systemClock } from "../../../src/clock.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const LATE_MS = 100;

Deno.test("ClientEvents over Redis: a sign-in not completed within a 1 s auth_pending_timeout is halted as timed out", async () => {
  const server = await RedisServer.start();
  try {
    const config = redisSettings(server.url, "deadline-test:", { storeTimeoutMs: 2_000 });
    const redis = await RedisStore.open({
      client: await connectRedis(config),
      keyPrefix: config.keyPrefix,
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(5)),
      maxEntries: 100,
      description: config.url,
    });
    // As on a busy bridge, the deadline's delete reaches Redis a moment after the deadline.
    const store = new Proxy(redis, {
      get(target, name) {
        if (name === "deletePending") {
          return async (id: string) => {
            await new Promise((resolve) => setTimeout(resolve, LATE_MS));
            return await target.deletePending(id);
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { events, commander } = testClientEvents({
      store,
      clock: systemClock,
      authPendingTimeoutMs: 1_000,
    });
    const logs = captureLogs();
    try {
      await events.onConnect(3, 1, testEnv({ session_id: "s-new" }));
      for (let waited = 0; commander.commands.length < 2 && waited < 3_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      logs.stop();
      events.close();
      await redis.close();
    }
    assertEquals(commander.commands.map((command) => command.kind), ["pending", "halt"]);
    assertEquals(commander.commands[1], {
      kind: "halt",
      cid: 3,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    });
    const audit = logs.lines.filter((line) => line.category === "audit");
    assertEquals(audit.map((line) => line.properties.reason), ["timeout"]);
  } finally {
    await server.dispose();
  }
});

Deno.test("ClientEvents over Redis, outside a cluster: a sign-in whose pending login a FLUSHALL took is halted as timed out at its deadline", async () => {
  const server = await RedisServer.start();
  try {
    const config = redisSettings(server.url, "deadline-test:", { storeTimeoutMs: 2_000 });
    // The store's own connection: the store closes it.
    const client = await connectRedis(config);
    const store = await RedisStore.open({
      client,
      keyPrefix: config.keyPrefix,
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(5)),
      maxEntries: 100,
      description: config.url,
    });
    const { events, commander } = testClientEvents({
      store,
      clock: systemClock,
      authPendingTimeoutMs: 1_000,
      soleTaker: true,
    });
    const logs = captureLogs();
    try {
      await events.onConnect(3, 1, testEnv({ session_id: "s-new" }));
      await client.flushall();
      for (let waited = 0; commander.commands.length < 2 && waited < 3_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      logs.stop();
      events.close();
      await store.close();
    }
    assertEquals(commander.commands.map((command) => command.kind), ["pending", "halt"]);
    assertEquals(commander.commands[1], {
      kind: "halt",
      cid: 3,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    });
  } finally {
    await server.dispose();
  }
});
