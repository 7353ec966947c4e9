/**
 * `check-config --probe` against a real redis-server that would evict the store's keys: the
 * service's start refuses it (redis_memory_policy.ts), so the probe fails it in the same words
 * (before, it passed). A Redis that refuses INFO to the ACL user passes with a warning.
 */
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { type CheckResult, formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";

const BRIDGE_PASSWORD = "bridge-password";

async function storeResult(sessions: string): Promise<CheckResult> {
  const config = await probedConfig(`backend = "redis"\nstore_timeout = "1s"\n${sessions}`, "");
  const results = await runProbe(config, listenFree);
  const store = results.find((result) => result.check === "session store");
  assert(store !== undefined, formatResults(results));
  return store;
}

Deno.test("probe: Redis with maxmemory and an evicting policy fails naming the policy and noeviction", async () => {
  const server = await RedisServer.start({
    aclUsers: [{ name: "bridge", password: BRIDGE_PASSWORD }],
    // Keeps deletes through a crash: no persistence warning beside the policy's.
    extraArgs: ["--appendonly", "yes"],
  });
  const admin = await connectRedis(redisSettings(server.url, "admin:", { storeTimeoutMs: 2_000 }));
  try {
    const where = `redis://127.0.0.1:${server.port}/0`;
    await admin.call("CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "allkeys-lru");
    const evicting = await storeResult(`url = "${server.url}"`);
    assertEquals(evicting.ok, false);
    assertMatch(
      evicting.detail,
      new RegExp(
        `^${where}: Redis evicts keys when its memory fills \\(maxmemory-policy allkeys-lru, ` +
          `maxmemory 104857600 bytes\\)`,
      ),
    );
    assertMatch(evicting.fix!, /^Set maxmemory-policy noeviction \(on a managed service/);

    await admin.call("ACL", "SETUSER", "bridge", "-info");
    const unchecked = await storeResult(
      `url = "${server.url}"\nusername = "bridge"\npassword = "${BRIDGE_PASSWORD}"`,
    );
    assertEquals([unchecked.ok, unchecked.warning], [true, true]);
    assertMatch(unchecked.detail, /; Redis's maxmemory-policy could not be checked \(NOPERM /);

    await admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
    const kept = await storeResult(`url = "${server.url}"`);
    assertEquals(
      [kept.ok, kept.warning, kept.detail],
      [true, undefined, `${where}: connected, database selected, PING answered`],
    );
  } finally {
    admin.disconnect();
    await server.dispose();
  }
});
