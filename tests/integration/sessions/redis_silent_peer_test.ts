/**
 * A Redis whose connection stays open but that stops answering (a frozen process, a host gone
 * without a reset, a managed endpoint failed over by DNS) must cost a reconnect, not minutes of
 * timed-out calls whose commands pile up in the client; one that answers slowly must keep its
 * connection. Fake servers, so the peer's timing is exact: a real redis-server cannot be made to
 * answer the handshake and then nothing.
 */
import type { Redis } from "ioredis";
import { assert, assertEquals } from "../../support/assert.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { startFakeRedis } from "../../support/fake_redis_server.ts";

const STORE_TIMEOUT_MS = 200;

/**
 * A fake Redis that answers every command after the handshake with "+OK" `processMs` after the
 * previous one (one at a time and in order, as Redis does), or never when `processMs` is
 * undefined; `answered` counts the replies written.
 */
function startAnsweringRedis(processMs: number | undefined) {
  const fake = Object.assign(
    startFakeRedis(async (_args, peer) => {
      if (processMs === undefined) return;
      await sleep(processMs);
      await peer.reply("+OK\r\n");
      fake.answered++;
    }),
    { answered: 0 },
  );
  return fake;
}

/** ioredis's queue of commands written and not yet answered (not public API). */
function commandQueueLength(client: Redis): number {
  return (client as unknown as { commandQueue: { length: number } }).commandQueue.length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("connectRedis() drops a connection that stops answering: it reconnects and its queue stays short", async () => {
  const fake = startAnsweringRedis(undefined);
  const logs = captureLogs();
  const client = await connectRedis(
    redisSettings(fake.url, "silent-test:", { storeTimeoutMs: STORE_TIMEOUT_MS }),
    3_000,
  );
  try {
    const failures: string[] = [];
    let longestQueue = 0;
    // A call every 10 ms for 2 s, as session writes and cluster polls would keep coming.
    const calls: Promise<unknown>[] = [];
    for (let tick = 0; tick < 200; tick++) {
      calls.push(
        client.set("k", "v").then(
          () => assert(false, "the peer never answers a SET"),
          (error) => failures.push(String(error)),
        ),
      );
      longestQueue = Math.max(longestQueue, commandQueueLength(client));
      await sleep(10);
    }
    await Promise.all(calls);
    assertEquals(failures.length, 200);
    assert(
      fake.connections >= 2,
      `a new connection after the timeouts, got ${fake.connections} connection(s) and ` +
        `${commandQueueLength(client)} commands still queued`,
    );
    // Two store timeouts' worth of calls at most (a SET every 10 ms), never all 200.
    assert(longestQueue <= 2 * STORE_TIMEOUT_MS / 10 + 5, `queue grew to ${longestQueue}`);
    // While it reconnects, a call fails at once instead of waiting for its store timeout.
    assert(failures.some((text) => text.includes("enableOfflineQueue")), failures.join("\n"));
    // Each reconnect answers the handshake, then nothing: one loss told, not one per cycle.
    const told = logs.lines.filter((line) => line.text.startsWith("Session store connection"));
    assertEquals(
      told.map((line) => line.text.split(":")[0]),
      ["Session store connection lost, reconnecting"],
      `${fake.connections} connections`,
    );
  } finally {
    client.disconnect();
    logs.stop();
    await fake.close();
  }
});

Deno.test("connectRedis() keeps a connection that answers slowly, even when queued calls time out", async () => {
  // Each command takes 60% of the store timeout: a reply comes in well within it, but calls
  // sent faster than that wait behind each other and the later ones time out.
  const fake = startAnsweringRedis(STORE_TIMEOUT_MS * 0.6);
  const client = await connectRedis(
    redisSettings(fake.url, "silent-test:", { storeTimeoutMs: STORE_TIMEOUT_MS }),
    3_000,
  );
  try {
    const outcomes: string[] = [];
    const calls: Promise<unknown>[] = [];
    for (let tick = 0; tick < 20; tick++) {
      calls.push(
        client.set("k", "v").then(
          () => outcomes.push("ok"),
          (error) => outcomes.push(String(error)),
        ),
      );
      await sleep(STORE_TIMEOUT_MS / 4);
    }
    await Promise.all(calls);
    assert(outcomes.includes("ok"), outcomes.join("\n"));
    assert(outcomes.some((text) => text.includes("timed out")), outcomes.join("\n"));
    assertEquals(fake.connections, 1, outcomes.join("\n"));
    assertEquals(client.status, "ready");
    // The replies to the calls that timed out still come, on the same connection.
    await sleep(20 * STORE_TIMEOUT_MS * 0.6);
    assertEquals(fake.answered, 20);
    assertEquals(commandQueueLength(client), 0);
  } finally {
    client.disconnect();
    await fake.close();
  }
});
