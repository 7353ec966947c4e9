/**
 * A Redis that will not answer INFO to the bridge, on a real redis-server: an ACL user without
 * `info` (which README supports) and a server that renamed INFO away. ioredis's ready check sent
 * INFO at every connect: refused, it wrote a warning to stderr past the log at each connect and
 * reconnect; unknown, it failed the start as "Session store unreachable".
 */
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { RedisSettings } from "../../../src/config/types.ts";
import { WorkNotifications } from "../../../src/cluster/work_notifications.ts";
import { getLogger } from "../../../src/log.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { eventually } from "../../support/eventually.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings, setAclUser } from "../../support/redis_settings.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "ready-test:";
const BRIDGE_PASSWORD = "bridge-password";
const KILLS = 3;

async function openStore(settings: RedisSettings): Promise<RedisStore> {
  return await RedisStore.open({
    client: await connectRedis(settings, 3_000),
    keyPrefix: PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(5)),
    maxEntries: 100,
    now: () => T0,
    description: settings.url,
  });
}

/** What `console.warn` was given while `work` ran (it is put back after). */
async function consoleWarnings(work: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
  try {
    await work();
  } finally {
    console.warn = original;
  }
  return warnings;
}

Deno.test("connectRedis(): an ACL user without `info` connects and reconnects (store and subscriber) without a word on stderr", async () => {
  const server = await RedisServer.start();
  const admin = await connectRedis(redisSettings(server.url, "admin:"));
  try {
    await setAclUser(server.url, "bridge", BRIDGE_PASSWORD, [
      `~${PREFIX}*`,
      "&*",
      "+@all",
      "-info",
    ]);
    const settings = redisSettings(server.url, PREFIX, {
      username: "bridge",
      password: new Secret(BRIDGE_PASSWORD),
    });
    const logs = captureLogs();
    try {
      const warnings = await consoleWarnings(async () => {
        const store = await openStore(settings);
        // The cluster's subscriber (a connection made with duplicate()), subscribing again at
        // each reconnect.
        const original = await connectRedis(settings);
        const notifications = new WorkNotifications({
          redis: original,
          channels: [`${PREFIX}channel`],
          log: getLogger("ready-test"),
          onMessage: () => {},
          onChange: () => {},
          refusal: () => undefined,
        });
        original.disconnect();
        try {
          await store.putSession(session());
          await notifications.start();
          for (let kill = 0; kill < KILLS; kill++) {
            await admin.call("CLIENT", "KILL", "USER", "bridge");
            assertEquals((await eventually(() => store.getSession("sess-1")))?.sessionId, "sess-1");
            await waitUntil(() => notifications.up);
          }
        } finally {
          notifications.stop();
          await store.close();
        }
      });
      assertEquals(warnings, []);
      // The start's own warning, through the log, once.
      assertEquals(
        logs.lines.filter((line) => /maxmemory-policy could not be checked/.test(line.text))
          .length,
        1,
      );
    } finally {
      logs.stop();
    }
  } finally {
    admin.disconnect();
    await server.dispose();
  }
});

Deno.test("RedisStore.open(): a Redis that renamed INFO away opens, warning that the policy was not checked", async () => {
  const server = await RedisServer.start({ extraArgs: ["--rename-command", "INFO", ""] });
  const logs = captureLogs();
  try {
    const store = await openStore(redisSettings(server.url, PREFIX));
    try {
      await store.putSession(session());
      assertEquals((await store.getSession("sess-1"))?.sessionId, "sess-1");
    } finally {
      await store.close();
    }
    const warned = logs.lines.filter((line) => /maxmemory-policy/.test(line.text));
    assertEquals(warned.map((line) => line.level), ["warning"]);
    assertMatch(
      warned[0]!.text,
      /: Redis's maxmemory-policy could not be checked \(ERR unknown command 'info'/,
    );
  } finally {
    logs.stop();
    await server.dispose();
  }
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let attempt = 0; !condition(); attempt++) {
    if (attempt >= 100) throw new Error("Condition not met within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
