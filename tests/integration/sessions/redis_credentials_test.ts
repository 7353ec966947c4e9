/**
 * The session store's start against a real redis-server that refuses the credentials: no
 * password where it asks for one, a wrong one, an ACL user without the store's keys. The start
 * said "Session store unreachable" for each and named no key; it now says Redis refused the
 * credentials and names the keys, as `check-config --probe` does. At run time a password
 * rotated on the server keeps failing store calls as unavailable (fail closed), as before.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { RedisSettings, ResolvedConfig } from "../../../src/config/types.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { eventually } from "../../support/eventually.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PASSWORD = "redis-right-password";
const WRONG = "redis-wrong-password";

function sessions(redis: Partial<RedisSettings> & { url: string }): ResolvedConfig["sessions"] {
  return sessionsConfig({
    backend: "redis",
    redis: redisSettings(redis.url, "cred-test:", redis),
  });
}

async function startFailure(config: ResolvedConfig["sessions"]): Promise<Error> {
  const error = await assertRejects(() => openSessionStore(config, new Secret("http"), () => T0));
  assert(error instanceof Error);
  assert(!(error instanceof StoreUnavailableError), `a setting to fix: ${error.message}`);
  assert(!/unreachable/i.test(error.message), error.message);
  return error;
}

async function withServer(body: (server: RedisServer) => Promise<void>): Promise<void> {
  const server = await RedisServer.start({
    password: PASSWORD,
    aclUsers: [{ name: "bridge", password: "bridge-password" }],
  });
  try {
    await body(server);
  } finally {
    await server.dispose();
  }
}

/** A connection to `server` as its default user, with the password, for the test's own commands. */
function adminOf(server: RedisServer) {
  return connectRedis(
    redisSettings(server.url, "admin:", { password: new Secret(PASSWORD), storeTimeoutMs: 1_000 }),
  );
}

Deno.test("openSessionStore(): Redis asking for a password, or refusing one, says it refused the credentials and names sessions.password_file", async () => {
  await withServer(async (server) => {
    const where = `redis://127\\.0\\.0\\.1:${server.port}/0`;
    const none = await startFailure(sessions({ url: server.url }));
    assertMatch(
      none.message,
      new RegExp(
        `^Redis refused the credentials at ${where}: NOAUTH .*; Redis asks for a password: ` +
          `set sessions\\.password_file to a file holding the password of Redis's default user`,
      ),
    );

    const wrong = await startFailure(sessions({ url: server.url, password: new Secret(WRONG) }));
    assertMatch(
      wrong.message,
      new RegExp(
        `^Redis refused the credentials at ${where}: WRONGPASS .*; Redis refused the user name ` +
          `or password: set sessions\\.password_file to the password of Redis's default user ` +
          `\\(requirepass\\), and sessions\\.username to the ACL user Redis knows`,
      ),
    );
    assert(!wrong.message.includes(WRONG), wrong.message);

    const user = await startFailure(
      sessions({ url: server.url, username: "bridge", password: new Secret(WRONG) }),
    );
    assertMatch(user.message, /: WRONGPASS .*the password of the ACL user "bridge"/);
    assert(!user.message.includes(WRONG), user.message);
  });
});

Deno.test("openSessionStore(): an ACL user without the store's keys is told to fix its ACL", async () => {
  await withServer(async (server) => {
    const admin = await adminOf(server);
    try {
      await admin.call("ACL", "SETUSER", "bridge", "resetkeys", "~other:*");
      const error = await startFailure(
        sessions({ url: server.url, username: "bridge", password: new Secret("bridge-password") }),
      );
      assertMatch(
        error.message,
        new RegExp(
          `^Redis refused the credentials at redis://127\\.0\\.0\\.1:${server.port}/0: NOPERM .*; ` +
            `Redis refused the ACL user "bridge" a command the store needs: allow it in the ` +
            `user's ACL \\(the store's keys start with sessions\\.key_prefix\\)`,
        ),
      );
    } finally {
      admin.disconnect();
    }
  });
});

Deno.test("RedisStore: a password rotated on the server while running fails store calls as unavailable", async () => {
  await withServer(async (server) => {
    const store = await openSessionStore(
      sessions({ url: server.url, password: new Secret(PASSWORD) }),
      new Secret("http"),
      () => T0,
    );
    const admin = await adminOf(server);
    try {
      await store.putSession(session());
      await admin.call("CONFIG", "SET", "requirepass", "rotated-password");
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      // Every reconnect is refused: no call is answered, none admits anyone.
      for (let round = 0; round < 5; round++) {
        await assertRejects(() => store.getSession("sess-1"), StoreUnavailableError);
        await assertRejects(() => store.putSession(session()), StoreUnavailableError);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await admin.call("CONFIG", "SET", "requirepass", PASSWORD);
      assertEquals((await eventually(() => store.getSession("sess-1")))?.sessionId, "sess-1");
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
