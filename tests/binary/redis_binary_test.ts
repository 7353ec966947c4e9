/**
 * The compiled binary with `sessions.backend = "redis"`: the Redis client (ioredis) works inside
 * `bun build --compile`: it logs in as an ACL user, records the key check, runs the store's Lua
 * scripts (the sweeper's), and the service stops cleanly on SIGTERM.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { assert, assertEquals } from "../support/assert.ts";
import { RedisServer } from "../support/redis_server.ts";
import {
  killProcess,
  spawnBinary,
  waitForHealthz,
  writeLocalConfig,
} from "../support/service_process.ts";

Deno.test("the compiled binary keeps its sessions in Redis and runs the store's scripts there", async () => {
  const redis = await RedisServer.start({ aclUsers: [{ name: "bridge", password: "bridge-pw" }] });
  const { dir, port, config } = await writeLocalConfig("binary-redis-test-", (dir) => ({
    rest: `[sessions]
backend = "redis"
url = "${redis.url.replace("redis://", "redis://bridge@")}"
password_file = "${join(dir, "redis-password")}"
key_prefix = "binary:"
sweep_interval = "200ms"
[log]
level = "error"
`,
  }));
  writeFileSync(join(dir, "redis-password"), "bridge-pw\n");
  const probe = new Redis({ host: "127.0.0.1", port: redis.port, lazyConnect: true });
  const child = spawnBinary(config);
  try {
    await probe.connect();
    // Bounded only as a safety net: on a loaded machine the binary's start and first sweep can
    // take seconds, and a tight bound made this test flaky.
    let swept = false;
    const giveUpAt = Date.now() + 60_000;
    while (!swept && Date.now() < giveUpAt) {
      const stats = await probe.info("commandstats");
      swept = /cmdstat_(evalsha|eval):calls=\d+/.test(stats);
      if (!swept) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert(swept, "the binary ran a store script in Redis");
    assertEquals(await probe.exists("binary:key_check"), 1);
    // The store is opened (and swept) before the HTTP listener is up.
    const health = await waitForHealthz(port);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    await killProcess(child);
    probe.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await redis.dispose();
  }
});
