/**
 * An ACL changed on a real redis-server while the store runs: the Redis user may no longer run
 * the store's scripts or read its keys. Every store call then fails closed, not as an
 * unreachable store (`store_unreachable = "allow"` would admit REAUTHs on it), with an error
 * that names the user's ACL; the log says so once a minute with a count, and the sessions are
 * there again once the ACL is restored.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const ADMIN_PASSWORD = "redis-admin-password";
const BRIDGE_PASSWORD = "bridge-password";

Deno.test("RedisStore: an ACL taking the store's commands away at run time fails calls closed, naming the ACL once a minute", async () => {
  const server = await RedisServer.start({
    password: ADMIN_PASSWORD,
    aclUsers: [{ name: "bridge", password: BRIDGE_PASSWORD }],
  });
  const admin = await connectRedis(
    redisSettings(server.url, "admin:", {
      password: new Secret(ADMIN_PASSWORD),
      storeTimeoutMs: 1_000,
    }),
  );
  let now = T0;
  const store = await openSessionStore(
    sessionsConfig({
      backend: "redis",
      storeUnreachable: "allow",
      redis: redisSettings(server.url, "noperm-test:", {
        username: "bridge",
        password: new Secret(BRIDGE_PASSWORD),
      }),
    }),
    new Secret("http"),
    () => now,
  );
  const logs = captureLogs();
  try {
    await store.putSession(session());
    await admin.call("ACL", "SETUSER", "bridge", "-evalsha", "-eval", "-hmget");
    const refusal = new RegExp(
      `^Redis refused the credentials at redis://127\\.0\\.0\\.1:${server.port}/0: NOPERM .*; ` +
        `Redis refused the ACL user "bridge" a command the store needs: allow it in the user's ACL`,
    );
    for (let call = 0; call < 5; call++) {
      for (const refused of [() => store.getSession("sess-1"), () => store.putSession(session())]) {
        const error = await assertRejects(refused);
        assert(error instanceof Error);
        // Not "unreachable": nothing may be admitted on what this process last saw.
        assert(!(error instanceof StoreUnavailableError), error.message);
        assertMatch(error.message, refusal);
      }
    }
    const reported = () => logs.lines.filter((line) => /refused/.test(line.text));
    assertEquals(reported().length, 1, "ten refused calls, one line");
    assertEquals(reported()[0]!.level, "error");
    assertMatch(reported()[0]!.text, /NOPERM .*allow it in the user's ACL/);
    now += 60_000;
    await assertRejects(() => store.getSession("sess-1"));
    assertEquals(reported().length, 2, "the next minute's line");
    assertMatch(reported()[1]!.text, / \(9 more refused since the last report\)$/);
    for (const line of logs.lines) {
      assert(!JSON.stringify(line).includes(BRIDGE_PASSWORD), line.text);
      assert(!JSON.stringify(line).includes(ADMIN_PASSWORD), line.text);
    }

    await admin.call("ACL", "SETUSER", "bridge", "+evalsha", "+eval", "+hmget");
    // Nothing was lost meanwhile.
    assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
  } finally {
    logs.stop();
    admin.disconnect();
    await store.close();
    await server.dispose();
  }
});
