/**
 * The compiled binary with `sessions.backend = "redis"`: the Redis client (ioredis) works inside
 * `bun build --compile`: it logs in as an ACL user, records the key check, runs the store's Lua
 * scripts (the sweeper's), and the service stops cleanly on SIGTERM.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { assert, assertEquals } from "../support/assert.ts";
import { freePort } from "../support/free_port.ts";
import { RedisServer } from "../support/redis_server.ts";

const BINARY = new URL("../../dist/openvpn-auth-oidc", import.meta.url).pathname;

Deno.test("the compiled binary keeps its sessions in Redis and runs the store's scripts there", async () => {
  const redis = await RedisServer.start({ aclUsers: [{ name: "bridge", password: "bridge-pw" }] });
  const dir = mkdtempSync(join(tmpdir(), "binary-redis-test-"));
  const port = await freePort();
  const config = join(dir, "server.toml");
  writeFileSync(join(dir, "redis-password"), "bridge-pw\n");
  writeFileSync(
    config,
    `[openvpn]
management = "unix://${join(dir, "absent.sock")}"
[http]
listen = "127.0.0.1:${port}"
base_url = "http://127.0.0.1:${port}"
secret = "binary-test-secret-binary-test-secret"
[oidc]
issuer = "http://127.0.0.1:9/realms/none"
client_id = "openvpn"
client_secret = "x"
[sessions]
backend = "redis"
url = "${redis.url.replace("redis://", "redis://bridge@")}"
password_file = "${join(dir, "redis-password")}"
key_prefix = "binary:"
sweep_interval = "200ms"
[log]
level = "error"
`,
  );
  const probe = new Redis({ host: "127.0.0.1", port: redis.port, lazyConnect: true });
  const child = new Deno.Command(BINARY, {
    args: ["--config", config],
    stdout: "null",
    stderr: "piped",
  }).spawn();
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
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.stderr.cancel().catch(() => {});
    probe.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await redis.dispose();
  }
});
