/**
 * A real redis-server demoted to a replica (`REPLICAOF`, as a failover does to the old primary):
 * reads go on, every write is refused with READONLY. That is the store unavailable for the
 * moment, not an error: a back-channel logout is kept (the IdP told 503) and carried out once the
 * node takes writes again. And behind one address that a failover moves (a Sentinel-managed VIP,
 * a managed Redis whose DNS name changes; here a TCP proxy switched to the new primary) the
 * connection left on the demoted node is dropped at its first READONLY, so writes reach the new
 * primary within a moment instead of failing until the socket happens to close. Only once per
 * interval, though: behind an address that stays on the demoted node each reconnect lands on it
 * again, and one at every refused write failed the reads around it too.
 */
import { Hono } from "hono";
import type { Redis } from "ioredis";
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { TEST_REVOCATION_TIMES } from "../../support/revocation_fixture.ts";
import { startLocalServer } from "../../support/fake_redis_server.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { Revocation } from "../../../src/bridge/revocation.ts";
import { KILL_MESSAGE, SessionEnd } from "../../../src/bridge/session_end.ts";
import { registerBackchannelLogout } from "../../../src/http/backchannel_logout.ts";
import type { HttpEnv } from "../../../src/http/serve.ts";
import { getLogger } from "../../../src/log.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";

const KEY_PREFIX = "readonly-test:";

async function openStore(url: string): Promise<RedisStore> {
  return await storeOn(await connectRedis(redisSettings(url, KEY_PREFIX), 3_000), url);
}

async function storeOn(client: Redis, url: string): Promise<RedisStore> {
  return await RedisStore.open({
    client,
    keyPrefix: KEY_PREFIX,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(3)),
    maxEntries: 100,
    now: () => T0,
    description: url,
  });
}

/**
 * Polls `check` every 50 ms until it holds or `ms` have passed; whether it held. A check the
 * store fails as unavailable (reconnecting after a READONLY) has not held yet.
 */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(notYet)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function notYet(error: unknown): false {
  if (error instanceof StoreUnavailableError) return false;
  throw error;
}

const ALICE = session({ sessionId: "s1", cid: 4, sid: "sso-1", username: "alice" });
const BOB = session({ sessionId: "s2", cid: 5, sid: "sso-2", username: "bob", subject: "u-2" });

Deno.test("a Redis demoted to a replica: writes fail as the store unavailable, a back-channel logout gets 503 and is kept, and is carried out once the node takes writes again", async () => {
  const server = await RedisServer.start();
  const admin = await connectRedis(redisSettings(server.url, KEY_PREFIX), 3_000);
  const store = await openStore(server.url);
  const vpn1 = new RecordingCommander();
  const revocation = new Revocation({
    store,
    end: new SessionEnd({
      store,
      commanders: (name) => (name === "vpn1" ? vpn1 : undefined),
      oidc: { revoke: () => Promise.resolve() },
      sessionLock: new KeyedLock(),
      log: getLogger("test"),
      now: Date.now,
    }),
    verifyLogoutToken: () =>
      Promise.resolve({
        sid: "sso-1",
        sub: undefined,
        jti: "jti-1",
        replayUntil: Date.now() + 60_000,
        forget: () => {},
      }),
    log: getLogger("test"),
    ...TEST_REVOCATION_TIMES,
  });
  const app = new Hono<{ Bindings: HttpEnv }>();
  registerBackchannelLogout(app, {
    logout: (token) => revocation.logout(token),
    log: getLogger("test"),
    now: Date.now,
  });
  try {
    await store.putSession(ALICE);
    await store.putSession(BOB);
    // A primary at port 1: there is none, so the node stays a replica serving its data.
    await admin.call("REPLICAOF", "127.0.0.1", "1");

    const refused = await assertRejects(
      () => store.putSession(session({ sessionId: "s3", cid: 6 })),
      StoreUnavailableError,
    );
    assertMatch(refused.message, /READONLY/);
    const response = await app.request("/oauth2/backchannel-logout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "logout_token=eyJ.payload.sig",
    });
    assertEquals(response.status, 503);
    assertEquals((await response.json()).error, "temporarily_unavailable");
    assertEquals(revocation.held, 1);
    assertEquals(vpn1.commands, []);
    assert(await within(3_000, async () => (await store.getSession("s1")) !== undefined));

    await admin.call("REPLICAOF", "NO", "ONE");
    // The retries' schedule: 1 s after the failure, then 2 s, 4 s.
    assert(await within(8_000, () => Promise.resolve(revocation.held === 0)), "carried out");
    assertEquals(await store.getSession("s1"), undefined);
    assertEquals(vpn1.commands, [{ kind: "kill", cid: 4, message: KILL_MESSAGE }]);
    assertEquals((await store.getSession("s2"))?.sessionId, "s2");
    assert(
      await within(3_000, async () => {
        await store.putSession(session({ sessionId: "s3", cid: 6 }));
        return true;
      }),
    );
  } finally {
    revocation.close();
    await store.close();
    admin.disconnect();
    await server.dispose();
  }
});

/**
 * A TCP proxy to one of two ports, switchable: the address a failover moves. Connections made
 * before a switch stay with the old target, as they do behind a VIP or a DNS name.
 */
function startProxy(target: number) {
  const proxy = Object.assign(
    startLocalServer(async (client) => {
      const upstream = proxy.track(
        await Deno.connect({ hostname: "127.0.0.1", port: proxy.target }),
      );
      await Promise.all([
        client.readable.pipeTo(upstream.writable).catch(() => {}),
        upstream.readable.pipeTo(client.writable).catch(() => {}),
      ]);
    }),
    { target },
  );
  return proxy;
}

/**
 * Two redis-servers, the second a replica of the first, and a store on a connection through a
 * proxy to the first (its READONLY reconnects at most once per `readOnlyReconnectIntervalMs`,
 * connectRedis()'s default unless given) holding alice's session, replicated. `failover()`
 * makes the replica the primary and the old primary its replica; where the proxy leads stays
 * the test's to switch.
 */
async function withFailoverLab(
  options: { readOnlyReconnectIntervalMs?: number },
  test: (lab: {
    store: RedisStore;
    client: Redis;
    reconnects: { count: number };
    proxy: ReturnType<typeof startProxy>;
    second: RedisServer;
    failover: () => Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  const first = await RedisServer.start();
  const second = await RedisServer.start();
  const firstAdmin = await connectRedis(redisSettings(first.url, KEY_PREFIX), 3_000);
  const secondAdmin = await connectRedis(redisSettings(second.url, KEY_PREFIX), 3_000);
  const proxy = startProxy(first.port);
  let store: RedisStore | undefined;
  try {
    // Without the wait of 5 s for more replicas that a primary makes before a full sync.
    await firstAdmin.call("CONFIG", "SET", "repl-diskless-sync-delay", "0");
    await secondAdmin.call("REPLICAOF", "127.0.0.1", String(first.port));
    const client = await connectRedis(
      redisSettings(proxy.url, KEY_PREFIX),
      3_000,
      options.readOnlyReconnectIntervalMs,
    );
    const reconnects = countReconnects(client);
    store = await storeOn(client, proxy.url);
    await store.putSession(ALICE);
    assert(
      await within(5_000, async () => (await secondAdmin.exists(`${KEY_PREFIX}s:s1`)) === 1),
      "the replica has the session",
    );
    const failover = async () => {
      await secondAdmin.call("REPLICAOF", "NO", "ONE");
      await firstAdmin.call("REPLICAOF", "127.0.0.1", String(second.port));
    };
    await test({ store, client, reconnects, proxy, second, failover });
  } finally {
    await store?.close();
    firstAdmin.disconnect();
    secondAdmin.disconnect();
    await proxy.close();
    await first.dispose();
    await second.dispose();
  }
}

Deno.test("a failover behind one address: the connection left on the demoted node is dropped at its first READONLY, and writes reach the new primary within seconds", async () => {
  await withFailoverLab({}, async ({ store, proxy, second, failover }) => {
    // The failover: the replica becomes the primary, the old primary its replica, and the
    // address leads to the new one.
    await failover();
    proxy.target = second.port;

    const written = await within(3_000, async () => {
      await store.putSession(session({ sessionId: "s3", cid: 6 }));
      return true;
    });
    assert(written, "a write reached the new primary");
    assertEquals((await store.getSession("s3"))?.sessionId, "s3");
    assertEquals((await store.getSession("s1"))?.sessionId, "s1");
  });
});

/** The client's reconnects from now on. */
function countReconnects(client: Redis): { count: number } {
  const reconnects = { count: 0 };
  client.on("reconnecting", () => reconnects.count++);
  return reconnects;
}

/**
 * For `ms`: a read of s1 every 10 ms and, beside them, a write every 200 ms, as REAUTHs and
 * sign-ins go on together; how many of each failed as the store unavailable.
 */
async function readAndWrite(store: RedisStore, ms: number) {
  const tally = { reads: 0, readFailures: 0, writes: 0, writeFailures: 0 };
  const deadline = Date.now() + ms;
  const reading = (async () => {
    while (Date.now() < deadline) {
      tally.reads++;
      const read = async () => assertEquals((await store.getSession("s1"))?.sessionId, "s1");
      if (await unavailable(read)) tally.readFailures++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const writing = (async () => {
    while (Date.now() < deadline) {
      tally.writes++;
      const write = () => store.putSession(session({ sessionId: "s9", cid: 9 }));
      if (await unavailable(write)) tally.writeFailures++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  await Promise.all([reading, writing]);
  return tally;
}

/** Whether `call` failed as the store unavailable; any other failure is thrown. */
async function unavailable(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return false;
  } catch (error) {
    return notYet(error) === false;
  }
}

Deno.test("a node demoted for good behind an address that does not move: one reconnect at READONLY per interval, not one per write, so the reads beside the writes go on", async () => {
  const server = await RedisServer.start();
  const admin = await connectRedis(redisSettings(server.url, KEY_PREFIX), 3_000);
  const client = await connectRedis(redisSettings(server.url, KEY_PREFIX), 3_000);
  const reconnects = countReconnects(client);
  const store = await storeOn(client, server.url);
  const logs = captureLogs();
  try {
    await store.putSession(ALICE);
    // sessions.url names this node itself: every reconnect lands on the replica again.
    await admin.call("REPLICAOF", "127.0.0.1", "1");

    const tally = await readAndWrite(store, 2_500);
    assert(tally.writes >= 5, JSON.stringify(tally));
    assertEquals(tally.writeFailures, tally.writes, "a replica takes no write");
    // One reconnect in the interval (10 s), at the first refused write.
    assertEquals(reconnects.count, 1, JSON.stringify(tally));
    // Those that came while it reconnected: about 100 ms of retry delay at one per 10 ms. Before,
    // a reconnect at each write failed more than half of them.
    assert(tally.readFailures <= 25, JSON.stringify(tally));
    const told = (text: string) => logs.lines.filter((line) => line.text.includes(text)).length;
    assertEquals(told("Session store connection lost"), 1);
    // Not restored while writes are still refused: the next reconnect would come an interval
    // later, the same outage told again.
    assertEquals(told("Session store connection restored"), 0);
  } finally {
    logs.stop();
    await store.close();
    admin.disconnect();
    await server.dispose();
  }
});

Deno.test("a failover that moves the address only after the first reconnect at READONLY (it landed on the demoted node again) is followed at the first write an interval later", async () => {
  await withFailoverLab(
    { readOnlyReconnectIntervalMs: 1_000 },
    async ({ store, client, reconnects, proxy, second, failover }) => {
      // The failover, the address still leading to the old primary (a DNS name cached).
      await failover();
      const write = () => store.putSession(session({ sessionId: "s3", cid: 6 }));
      await assertRejects(write, StoreUnavailableError, "READONLY");
      // Connected again, to the demoted node: its writes are refused, and the connection kept.
      const reconnected = () => reconnects.count === 1 && client.status === "ready";
      assert(await within(1_000, () => Promise.resolve(reconnected())), "reconnected");
      for (let attempt = 0; attempt < 3; attempt++) {
        await assertRejects(write, StoreUnavailableError, "READONLY");
      }
      proxy.target = second.port;
      assert(
        await within(3_000, async () => {
          await write();
          return true;
        }),
        "a write reached the new primary",
      );
      assertEquals(reconnects.count, 2, "at the first READONLY, and once more an interval later");
      assertEquals((await store.getSession("s3"))?.sessionId, "s3");
    },
  );
});
