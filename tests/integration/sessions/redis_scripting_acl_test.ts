/**
 * The store's start against a real redis-server whose ACL user may use the store's keys but not
 * run scripts: every store call is a Lua script, and such a store opened fine and then denied
 * every user. The start now runs one harmless script and fails naming @scripting, with the
 * advice on the ACL user that the key check gives.
 */
import { assert, assertMatch, assertRejects } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings, setAclUser } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { T0 } from "../../unit/sessions/fixtures.ts";

const BRIDGE_PASSWORD = "bridge-password";

Deno.test("openSessionStore(): an ACL user without @scripting fails the start naming +@scripting", async () => {
  const server = await RedisServer.start({
    aclUsers: [{ name: "bridge", password: BRIDGE_PASSWORD }],
  });
  try {
    await setAclUser(server.url, "bridge", BRIDGE_PASSWORD, [
      "~*",
      "+@all",
      "-@scripting",
    ]);
    const error = await assertRejects(() =>
      openSessionStore(
        sessionsConfig({
          backend: "redis",
          redis: redisSettings(server.url, "scripting-test:", {
            username: "bridge",
            password: new Secret(BRIDGE_PASSWORD),
            storeTimeoutMs: 2_000,
          }),
        }),
        new Secret("http"),
        () => T0,
      )
    );
    assert(error instanceof Error);
    assert(!(error instanceof StoreUnavailableError), error.message);
    assertMatch(
      error.message,
      new RegExp(
        `^Redis refused the credentials at redis://127\\.0\\.0\\.1:${server.port}/0: NOPERM .*; ` +
          `Redis refused the ACL user "bridge" a command the store needs: allow it in the ` +
          `user's ACL .*; every store call is a Lua script: the ACL user needs \\+@scripting`,
      ),
    );
    assert(!error.message.includes(BRIDGE_PASSWORD));
  } finally {
    await server.dispose();
  }
});
