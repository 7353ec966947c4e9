/**
 * The store's start against a real redis-server that would evict its keys: every key carries a
 * TTL, so under volatile-lru (the managed services' default) a full Redis dropped sessions and
 * their index sets without a word, and a logout or revoke then missed sessions still admitted.
 * The start refuses such a Redis, naming the policy and the fix; one that cannot be asked (INFO
 * refused to the ACL user) opens with a warning.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { RedisSettings } from "../../../src/config/types.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { T0 } from "../../unit/sessions/fixtures.ts";

const BRIDGE_PASSWORD = "bridge-password";

function open(url: string, overrides: Partial<RedisSettings> = {}) {
  return openSessionStore(
    sessionsConfig({
      backend: "redis",
      redis: redisSettings(url, "policy-test:", { storeTimeoutMs: 2_000, ...overrides }),
    }),
    new Secret("http"),
    () => T0,
  );
}

async function withServer(
  body: (server: RedisServer, config: (...setting: string[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  const server = await RedisServer.start({
    aclUsers: [{ name: "bridge", password: BRIDGE_PASSWORD }],
  });
  const admin = await connectRedis(redisSettings(server.url, "admin:", { storeTimeoutMs: 2_000 }));
  try {
    await body(server, async (...setting) => void await admin.call("CONFIG", "SET", ...setting));
  } finally {
    admin.disconnect();
    await server.dispose();
  }
}

Deno.test("openSessionStore(): a Redis with maxmemory and an evicting policy is refused, naming the policy and noeviction", async () => {
  await withServer(async (server, config) => {
    await config("maxmemory", "100mb", "maxmemory-policy", "volatile-lru");
    const error = await assertRejects(() => open(server.url));
    assert(error instanceof Error);
    assert(!(error instanceof StoreUnavailableError), error.message);
    assertMatch(
      error.message,
      new RegExp(
        `^Session store refused: redis://127\\.0\\.0\\.1:${server.port}/0: Redis evicts keys ` +
          `when its memory fills \\(maxmemory-policy volatile-lru, maxmemory 104857600 bytes\\)` +
          `.*; set maxmemory-policy noeviction \\(on a managed service .*parameter group`,
      ),
    );

    await config("maxmemory-policy", "noeviction");
    await (await open(server.url)).close();

    // No limit: Redis evicts nothing, whatever the policy says.
    await config("maxmemory", "0", "maxmemory-policy", "allkeys-lru");
    await (await open(server.url)).close();
  });
});

Deno.test("openSessionStore(): an ACL user refused INFO opens, with a warning that the policy was not checked", async () => {
  await withServer(async (server, config) => {
    await config("maxmemory", "100mb", "maxmemory-policy", "volatile-lru");
    const admin = await connectRedis(redisSettings(server.url, "admin:"));
    await admin.call("ACL", "SETUSER", "bridge", "-info");
    admin.disconnect();
    const logs = captureLogs();
    try {
      const store = await open(server.url, {
        username: "bridge",
        password: new Secret(BRIDGE_PASSWORD),
      });
      await store.close();
      const warned = logs.lines.filter((line) => /maxmemory-policy/.test(line.text));
      assertEquals(warned.map((line) => line.level), ["warning"]);
      assertMatch(
        warned[0]!.text,
        /: Redis's maxmemory-policy could not be checked \(NOPERM .*info.*\); the store needs noeviction/,
      );
      assert(!JSON.stringify(logs.lines).includes(BRIDGE_PASSWORD));
    } finally {
      logs.stop();
    }
  });
});
