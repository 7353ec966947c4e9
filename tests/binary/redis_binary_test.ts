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
    // The store is opened (the key check recorded, a script run) before the HTTP listener is up.
    // Not judged by Redis's script count alone: the connection's start runs a script of its own
    // (the LOADING check, redis_connection.ts) before the store opens, and a test that took that
    // for the store's work read the key check too early.
    const health = await waitForHealthz(port);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    assertEquals(await probe.exists("binary:key_check"), 1);
    // A sweep (every 200 ms) puts a lost key check back, then runs its script: both seen here
    // show the sweeper at work inside the binary. Bounded only as a safety net: on a loaded
    // machine a sweep can be seconds late.
    const scriptsBefore = scriptCalls(await probe.info("commandstats"));
    await probe.del("binary:key_check");
    let restored = false;
    let scripted = false;
    const giveUpAt = Date.now() + 60_000;
    while (!(restored && scripted) && Date.now() < giveUpAt) {
      restored ||= await probe.exists("binary:key_check") === 1;
      scripted = restored && scriptCalls(await probe.info("commandstats")) > scriptsBefore;
      if (!(restored && scripted)) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert(restored, "a sweep put the key check back");
    assert(scripted, "the binary ran a store script in Redis after the start");
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    await killProcess(child);
    probe.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await redis.dispose();
  }
});

/** How many scripts Redis ran (EVAL and EVALSHA, failed ones included), from INFO commandstats. */
function scriptCalls(stats: string): number {
  let calls = 0;
  for (const match of stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) {
    calls += Number(match[1]);
  }
  return calls;
}
