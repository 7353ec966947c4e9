/**
 * Each sweep compares this host's clock with Redis's (redis_clock.ts), on a real redis-server:
 * bridges whose clocks are a minute apart lose the reason of a sign-in that timed out, and
 * nothing else would say why.
 */
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings, setAclUser } from "../../support/redis_settings.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";

const PREFIX = "clock-test:";

/** The store's clock `offsetMs` off the host's (and so Redis's): the lines of two sweeps. */
async function sweepsOffBy(offsetMs: number): Promise<{ level: string; text: string }[]> {
  const now = () => Date.now() + offsetMs;
  const logs = captureLogs();
  try {
    await withRedisStore({ keyPrefix: PREFIX, now }, async ({ store }) => {
      await store.sweep(now());
      await store.sweep(now());
    });
  } finally {
    logs.stop();
  }
  return logs.lines
    .filter((line) => line.category === "sessions" && line.text.includes("clock"))
    .map(({ level, text }) => ({ level, text }));
}

Deno.test("RedisStore.sweep() warns when this host's clock is more than 10 s ahead of Redis's, once in a while", async () => {
  const lines = await sweepsOffBy(70_000);
  assertEquals(lines.map(({ level }) => level), ["warning", "debug"], "the second sweep at debug");
  assertMatch(
    lines[0]!.text,
    /^This host's clock is 70 s ahead of Redis's \(redis:\/\/[^)]+\): bridges sharing a Redis must keep their clocks within a minute of each other, .* keep every host's clock synchronised \(NTP\)$/,
  );
});

Deno.test("RedisStore.sweep() warns when this host's clock is more than 10 s behind Redis's", async () => {
  const lines = await sweepsOffBy(-30_000);
  assertEquals(lines.length, 2);
  assertMatch(lines[0]!.text, /^This host's clock is 30 s behind Redis's /);
});

Deno.test("RedisStore.sweep() says nothing of a clock within 10 s of Redis's", async () => {
  assertEquals(await sweepsOffBy(5_000), []);
});

Deno.test("RedisStore.sweep() by an ACL user refused TIME sweeps all the same, without the check", async () => {
  const server = await RedisServer.start({ aclUsers: [{ name: "bridge", password: "pw" }] });
  const logs = captureLogs();
  try {
    await setAclUser(server.url, "bridge", "pw", ["~*", "&*", "+@all", "-time"]);
    const now = () => Date.now() + 70_000;
    const store = await openSessionStore(
      sessionsConfig({
        backend: "redis",
        redis: redisSettings(server.url, PREFIX, {
          username: "bridge",
          password: new Secret("pw"),
          storeTimeoutMs: 2_000,
        }),
      }),
      new Secret("http"),
      now,
    );
    try {
      assertEquals(await store.sweep(now()), { pending: 0, sessions: 0 });
    } finally {
      await store.close();
    }
  } finally {
    logs.stop();
    await server.dispose();
  }
  const clockLines = logs.lines.filter((line) => /clock/i.test(line.text));
  assertEquals(clockLines.map(({ level }) => level), ["debug"], "only the skipped check, at debug");
});
