/**
 * `check-config --probe` against a real redis-server without an append-only file (Debian's
 * default): a crash then loads the last RDB snapshot, and sessions revoked since are back. The
 * store's start warns of it (redis_persistence.ts), so the probe warns in the same words.
 */
import { assertEquals } from "../../support/assert.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { persistenceRisk } from "../../../src/sessions/redis_persistence.ts";
import { parseRedisInfo } from "../../../src/sessions/redis_info.ts";

async function probeStore(appendonly: "yes" | "no") {
  const server = await RedisServer.start({ extraArgs: ["--appendonly", appendonly] });
  try {
    const config = await probedConfig(
      `backend = "redis"\nstore_timeout = "1s"\nurl = "${server.url}"`,
      "",
    );
    const result = (await runProbe(config, listenFree)).find((r) => r.check === "session store");
    return {
      result,
      connected: `redis://127.0.0.1:${server.port}/0: connected, database selected, PING answered`,
    };
  } finally {
    await server.dispose();
  }
}

Deno.test("probe: Redis with appendonly no passes with the start's warning that a crash brings revoked sessions back", async () => {
  const { result, connected } = await probeStore("no");
  const risk = persistenceRisk(parseRedisInfo("aof_enabled:0"))!;
  assertEquals(
    [result?.ok, result?.warning, result?.detail, result?.fix],
    [
      true,
      true,
      `${connected}; ${risk}`,
      "Set appendonly yes and appendfsync everysec in Redis's configuration (a crash then " +
      "loses at most about 1 s of deletes).",
    ],
  );
});

Deno.test("probe: Redis with appendonly yes passes without a warning", async () => {
  const { result, connected } = await probeStore("yes");
  assertEquals([result?.ok, result?.warning, result?.detail], [true, undefined, connected]);
});
