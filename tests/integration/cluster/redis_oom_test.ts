/**
 * The cluster's scripts against a redis-server over its maxmemory (noeviction): a script that
 * may grow memory is refused whole, before it runs (its `#!lua` shebang), not midway with what
 * it did up to there kept (a PUBLISH announcing an item never queued, an outcome never stored).
 * A held lease is still renewed and released: a full Redis does not take every management link
 * away.
 */
import type { Redis } from "ioredis";
import { systemClock } from "../../../src/clock.ts";
import { ACQUIRE, RELEASE, RENEW } from "../../../src/cluster/redis_scripts.ts";
import { serverNameClaimKey } from "../../../src/cluster/server_name_claims.ts";
import { ClusterKeys, WorkQueue } from "../../../src/cluster/work_queue.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

const PREFIX = "oom-test:";

/**
 * A redis-server, a client and a subscriber to server "udp"'s two channels (the messages heard
 * are collected), connected while there is room; `prepare` writes what the test starts from,
 * then the server is put over its maxmemory and `run` runs.
 */
async function overMaxmemory(
  prepare: (redis: Redis, keys: ClusterKeys) => Promise<unknown>,
  run: (ctx: { redis: Redis; keys: ClusterKeys; heard: string[] }) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start();
  const redis = await connectRedis(redisSettings(server.url, PREFIX));
  const subscriber = redis.duplicate();
  const keys = new ClusterKeys(PREFIX);
  const heard: string[] = [];
  subscriber.on("message", (channel: string, message: string) => {
    heard.push(`${channel} ${message}`);
  });
  try {
    await subscriber.connect();
    await subscriber.subscribe(keys.channel("udp"), keys.outcomeChannel("udp"));
    await prepare(redis, keys);
    // Some data, then a limit below what it uses: every command that may grow memory is refused.
    await redis.set(`${PREFIX}filler`, "x".repeat(1_000_000));
    const used = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
    assert(used > 1_000_000, `used_memory is ${used}`);
    await redis.config("SET", "maxmemory-policy", "noeviction");
    await redis.config("SET", "maxmemory", String(used - 200_000));
    await assertRejects(() => redis.set(`${PREFIX}probe`, "x"), Error, "OOM");
    await run({ redis, keys, heard });
  } finally {
    subscriber.disconnect();
    redis.disconnect();
    await server.dispose();
  }
}

/** Lets a message published by a script reach the subscriber, if one was. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 200));
}

Deno.test("work: over maxmemory, ENQUEUE and RECORD are refused whole: nothing queued, recorded or announced", () =>
  overMaxmemory(
    async (redis, keys) => {
      // A holder (token 4) carried out "k1" and records its outcome.
      await redis.set(keys.fence("udp"), "4");
      await redis.lpush(keys.running("udp"), "k1");
    },
    async ({ redis, keys, heard }) => {
      const queue = new WorkQueue(redis, keys, systemClock);
      await assertRejects(
        () => queue.enqueue("udp", { op: "kill", cid: 3, message: "bye" }, 3_000),
        Error,
        "OOM",
      );
      assertEquals(await redis.llen(keys.queue("udp")), 0, "the item was queued");
      assertEquals(await redis.keys(`${keys.prefix}w:*`), [], "the item was stored");
      await assertRejects(() => queue.record("udp", 4, "k1", { kind: "ok" }), Error, "OOM");
      assertEquals(await redis.get(keys.outcome("udp", "k1")), null, "the outcome was stored");
      assertEquals(await redis.lrange(keys.running("udp"), 0, -1), ["k1"]);
      await settle();
      assertEquals(heard, [], "a refused script announced work");
    },
  ));

Deno.test("lease: over maxmemory no lease is taken and the fence is not bumped, but a held lease is still renewed and released", () =>
  overMaxmemory(
    (redis, keys) => redis.set(keys.lease("tcp"), "vpn-a#1", "PX", 3_000),
    async ({ redis, keys }) => {
      await assertRejects(
        () =>
          redis.eval(
            ACQUIRE,
            3,
            keys.lease("udp"),
            keys.fence("udp"),
            serverNameClaimKey(PREFIX, "udp"),
            "vpn-a",
            "3000",
          ),
        Error,
        "OOM",
      );
      assertEquals(await redis.get(keys.fence("udp")), null, "the fence was bumped");
      assertEquals(await redis.get(keys.lease("udp")), null, "the lease was taken");
      assertEquals(await redis.eval(RENEW, 1, keys.lease("tcp"), "vpn-a#1", "60000"), 1);
      assert(await redis.pttl(keys.lease("tcp")) > 3_000, "the lease was not extended");
      assertEquals(await redis.eval(RELEASE, 1, keys.lease("tcp"), "vpn-a#1"), 1);
      assertEquals(await redis.get(keys.lease("tcp")), null, "the lease was not released");
    },
  ));
