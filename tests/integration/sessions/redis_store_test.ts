/**
 * The store contract against a real redis-server, plus what only Redis has: several stores
 * (bridges) sharing one server, the key check, secrets encrypted at rest, TTLs, and a server
 * that stops answering.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import type { Redis } from "ioredis";
import type { RedisSettings } from "../../../src/config/types.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { CALL_BATCH } from "../../../src/sessions/redis_call_batch.ts";
import { BINDINGS_CHUNK, LIST_CHUNK } from "../../../src/sessions/list_chunk.ts";
import { SCRIPTS, SWEEP_BATCH } from "../../../src/sessions/redis_scripts.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { PENDING_GRACE_MS } from "../../../src/sessions/pending_grace.ts";
import { SESSION_GRACE_MS } from "../../../src/sessions/redis_grace.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { registerStoreContract } from "../../unit/sessions/contract.ts";
import { listed, MINUTE, pendingLogin, session, T0 } from "../../unit/sessions/fixtures.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { logsOf } from "../../support/log_capture.ts";
import { withBoundedCalls } from "../../support/within.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

const KEY = new Uint8Array(32).fill(7);
type ListCall = (this: unknown, ...args: unknown[]) => Promise<Array<Buffer | null>>;
let prefixes = 0;

/**
 * One server for the whole file; each store gets its own key prefix. Started as the module
 * loads, before any test, so that the sanitizers count it against none; killed when the
 * file's tests are done, whichever ran (--filter) and however they ended.
 */
const server = await RedisServer.start();
addEventListener("unload", () => server.disposeNow());

/** Settings under a key prefix no earlier call gave, so that the tests share the one server. */
function settings(url: string, overrides: Partial<RedisSettings> = {}): RedisSettings {
  return redisSettings(url, `test${++prefixes}:`, { storeTimeoutMs: 2_000, ...overrides });
}

/**
 * Each store call answers in milliseconds (within the 2 s store timeout when Redis does not): one
 * left pending (a call batch never sent, a reply never handed back) fails its test at this bound
 * instead of hanging the file.
 */
const STORE_CALL_BOUND_MS = 5_000;

async function openStore(
  config: RedisSettings,
  options: {
    maxEntries?: number;
    now?: () => number;
    key?: Uint8Array<ArrayBuffer>;
    cipher?: TokenCipher;
  } = {},
): Promise<{ store: RedisStore; client: Redis }> {
  const client = await connectRedis(config);
  const store = await RedisStore.open({
    client,
    keyPrefix: config.keyPrefix,
    cipher: options.cipher ?? await TokenCipher.fromKeyBytes(options.key ?? KEY),
    maxEntries: options.maxEntries ?? 1000,
    now: options.now ?? (() => T0),
    description: config.url,
  });
  return { store: withBoundedCalls("RedisStore", STORE_CALL_BOUND_MS, store), client };
}

/** What Redis runs, seen through MONITOR; `settled()` waits until it has seen all sent so far. */
async function watchCommands(client: Redis) {
  const monitor = await client.duplicate().monitor();
  const commands: string[][] = [];
  let seenMarker: () => void = () => {};
  monitor.on("monitor", (_time: string, args: string[]) => {
    commands.push(args);
    if (args[0]?.toLowerCase() === "echo" && args[1] === "settled") seenMarker();
  });
  return {
    commands,
    names: () => commands.map((args) => args[0]!.toLowerCase()),
    /** How many script calls Redis ran. */
    scriptCalls: () =>
      commands.filter((args) => ["evalsha", "eval"].includes(args[0]!.toLowerCase())).length,
    async settled() {
      const seen = new Promise<void>((resolve) => (seenMarker = resolve));
      await client.echo("settled");
      await seen;
    },
    stop: () => monitor.disconnect(),
  };
}

/**
 * A store with room for CALL_BATCH + 50 entries per table, Redis's commands watched from now
 * on, and how many puts to make together: CALL_BATCH + 100, so that two calls are needed and
 * the last 50 puts find the store full.
 */
async function storeForPutsTogether() {
  const config = settings(server.url);
  const room = CALL_BATCH + 50;
  const { store, client } = await openStore(config, { maxEntries: room });
  const monitor = await watchCommands(client);
  await monitor.settled();
  monitor.commands.length = 0;
  return { config, store, monitor, room, count: CALL_BATCH + 100 };
}

/**
 * Puts made together: one script call per CALL_BATCH, and, in the order made, every one past
 * `room` refused as the store being full.
 */
function assertPutTogether(
  monitor: Awaited<ReturnType<typeof watchCommands>>,
  puts: PromiseSettledResult<void>[],
  room: number,
) {
  assertEquals(
    monitor.scriptCalls(),
    Math.ceil(puts.length / CALL_BATCH),
    monitor.names().join(" "),
  );
  assertEquals(
    puts.map((put) => put.status),
    puts.map((_, i) => i < room ? "fulfilled" : "rejected"),
  );
  for (const put of puts.slice(room)) {
    assert(put.status === "rejected" && put.reason instanceof StoreFullError);
  }
}

/** A store with room for `maxEntries`, its time `clock.time`, Redis's commands watched. */
async function watchedStore(maxEntries: number) {
  const clock = { time: T0 };
  const { store, client } = await openStore(settings(server.url), {
    now: () => clock.time,
    maxEntries,
  });
  return { clock, store, monitor: await watchCommands(client) };
}

/** What `read` returns, and the script calls Redis ran for it alone. */
async function alone<T>(
  monitor: Awaited<ReturnType<typeof watchCommands>>,
  read: () => Promise<T>,
) {
  await monitor.settled();
  monitor.commands.length = 0;
  const result = await read();
  await monitor.settled();
  return { result, calls: monitor.scriptCalls(), names: monitor.names().join(" ") };
}

registerStoreContract("RedisStore", async (options) => {
  const { store } = await openStore(settings(server.url), options);
  return { store, cleanup: () => store.close() };
});

Deno.test("RedisStore: two bridges on one Redis hand a pending login to exactly one taker", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  try {
    await one.store.putPending(pendingLogin());
    const takes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).store.takePending("p-1")),
    );
    assertEquals(takes.filter((taken) => taken !== undefined).length, 1);
    assertEquals(takes.find((taken) => taken !== undefined), pendingLogin());
  } finally {
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: another bridge reads a session's OpenVPN run and lists it with its binding", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  try {
    const withRun = session({
      sessionId: "run-1",
      cid: 5,
      openvpnRun: "4242@1795878880:CONNECTED",
    });
    await one.store.putSession(withRun);
    assertEquals(await two.store.getSession("run-1"), withRun);
    assertEquals(await two.store.listBindings("vpn1"), [
      { sessionId: "run-1", cid: 5, openvpnRun: "4242@1795878880:CONNECTED" },
    ]);
  } finally {
    await one.store.deleteSession("run-1");
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: max_entries holds across bridges writing at once", async () => {
  const config = settings(server.url);
  const stores = await Promise.all([1, 2, 3].map(() => openStore(config, { maxEntries: 10 })));
  try {
    const puts = await Promise.allSettled(
      Array.from(
        { length: 30 },
        (_, i) => stores[i % 3]!.store.putSession(session({ sessionId: `s${i}` })),
      ),
    );
    assertEquals(puts.filter((put) => put.status === "fulfilled").length, 10);
    for (const put of puts) {
      if (put.status === "rejected") assert(put.reason instanceof StoreFullError);
    }
    assertEquals((await collectPages(stores[0]!.store.sessionPages())).length, 10);
  } finally {
    for (const { store } of stores) await store.close();
  }
});

Deno.test("RedisStore: refresh tokens and OAuth secrets are stored encrypted only", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  try {
    const secrets = ["refresh-token-1", "state-1", "nonce-1", "verifier-1", "binding-1"];
    await store.putSession(session());
    await store.putPending(pendingLogin());
    let dump = "";
    for (const key of await client.keys(`${config.keyPrefix}*`)) {
      const type = await client.type(key);
      if (type === "hash") dump += JSON.stringify(await client.hgetall(key));
      if (type === "string") dump += await client.get(key);
    }
    assertMatch(dump, /alice-laptop/, "the dump holds the plain fields");
    for (const secret of secrets) assert(!dump.includes(secret), `${secret} in plain text`);
    assertEquals((await store.getSession("sess-1"))?.refreshToken, "refresh-token-1");
    assertEquals((await store.getPending("p-1"))?.oauth?.codeVerifier, "verifier-1");
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: every key starts with key_prefix; another prefix sees nothing of it", async () => {
  const url = server.url;
  const prefixA = settings(url).keyPrefix;
  const a = await openStore(settings(url, { keyPrefix: prefixA }));
  const b = await openStore(settings(url));
  try {
    const before = new Set(await a.client.keys("*"));
    await a.store.putSession(session());
    await a.store.putPending(pendingLogin());
    const added = (await a.client.keys("*")).filter((key) => !before.has(key));
    assert(added.length > 0);
    for (const key of added) assert(key.startsWith(prefixA), key);
    assertEquals(await b.store.getSession("sess-1"), undefined);
    assertEquals(await b.store.getPending("p-1"), undefined);
    assertEquals(await collectPages(b.store.sessionPages()), []);
    assertEquals(await b.store.deleteSession("sess-1"), undefined);
    assert(await a.store.getSession("sess-1"));
  } finally {
    await a.store.close();
    await b.store.close();
  }
});

Deno.test("RedisStore: an entry or its secret copied to another id is refused there", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  try {
    await store.putSession(session({ sessionId: "a", refreshToken: "token-a" }));
    await store.putSession(session({ sessionId: "b", refreshToken: "token-b" }));
    // Read once first: the store keeps what it decoded, and must still check what Redis holds.
    assertEquals((await store.getSession("b"))?.refreshToken, "token-b");
    const stolen = await client.hgetBuffer(`${config.keyPrefix}s:a`, "t");
    await client.hset(`${config.keyPrefix}s:b`, "t", stolen!);
    // Left at its version, the entry is not read again: the store keeps serving what it checked.
    assertEquals((await store.getSession("b"))?.refreshToken, "token-b");
    // With a version of its own, as every write gives an entry, it is read and refused.
    await client.hset(`${config.keyPrefix}s:b`, "v", "tampered");
    await assertRejects(() => store.getSession("b"), Error, /Refresh token decryption failed/);
    // A whole entry copied under another key is refused too.
    const whole = await client.hgetallBuffer(`${config.keyPrefix}s:a`);
    await client.hset(`${config.keyPrefix}s:b`, whole);
    await assertRejects(
      () => store.getSession("b"),
      Error,
      /Session store entry is unreadable: sessions/,
    );
    assertEquals((await store.getSession("a"))?.refreshToken, "token-a");
    await store.putPending(pendingLogin({ id: "x" }));
    const login = await client.hgetallBuffer(`${config.keyPrefix}p:x`);
    await client.hset(`${config.keyPrefix}p:y`, login);
    // With its deadline in the expiry index too, which a take reads first.
    const deadline = await client.zscore(`${config.keyPrefix}pz`, "x");
    await client.zadd(`${config.keyPrefix}pz`, deadline!, "y");
    await assertRejects(
      () => store.takePending("y"),
      Error,
      /Session store entry is unreadable: pending/,
    );
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: updateSession compares createdAt kept apart: claims with a lone surrogate, and entries of an older bridge (no such field), are updated", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  try {
    // JSON.stringify writes the lone surrogate as an escape that lua-cjson refuses to decode.
    const odd = session({ sessionId: "odd", claims: { sub: "u-1", note: "x\ud800y" } });
    await store.putSession(odd);
    assertEquals(await store.updateSession({ ...odd, cid: undefined }), true);
    const unbound = await store.getSession("odd");
    assert(unbound !== undefined, "the updated session is gone");
    assertEquals(unbound.cid, undefined);
    // Written before createdAt had a field of its own: the data decides.
    await store.putSession(session({ sessionId: "old" }));
    await client.hdel(`${config.keyPrefix}s:old`, "c");
    assertEquals(await store.updateSession(session({ sessionId: "old", cid: 11 })), true);
    assertEquals((await store.getSession("old"))?.cid, 11);
    await client.hdel(`${config.keyPrefix}s:old`, "c");
    assertEquals(
      await store.updateSession(session({ sessionId: "old", createdAt: T0 + 1, cid: 12 })),
      false,
    );
    assertEquals((await store.getSession("old"))?.cid, 11);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: an update from a copy read before another bridge wrote the session is refused, and leaves that write", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  const fresh = await openStore(config);
  try {
    await one.store.putSession(session({ sessionId: "a", cid: 3, refreshToken: "token-1" }));
    const readByOne = (await one.store.getSession("a"))!;
    const readByTwo = (await two.store.getSession("a"))!;
    // Bridge one refreshes the session (the IdP rotated its token) and moves it to cid 4.
    const refreshed = { ...readByOne, cid: 4, refreshToken: "token-2", lastAuthAt: T0 + MINUTE };
    assertEquals(await one.store.updateSession(refreshed), true);
    // Bridge two writes back what it read before: neither the binding nor the token go back.
    assertEquals(await two.store.updateSession({ ...readByTwo, cid: undefined }), false);
    assertEquals(
      await two.store.updateSession({ ...readByTwo, refreshToken: "token-elsewhere" }),
      false,
    );
    assertEquals(await fresh.store.getSession("a"), refreshed);
    // Read again, it writes.
    const again = (await two.store.getSession("a"))!;
    assertEquals(again, refreshed);
    assertEquals(await two.store.updateSession({ ...again, cid: undefined }), true);
    assertEquals((await fresh.store.getSession("a"))?.cid, undefined);
  } finally {
    await one.store.close();
    await two.store.close();
    await fresh.store.close();
  }
});

Deno.test("RedisStore: a session removed after another bridge rotated its token hands back that token; one copied from another session, none", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  try {
    await one.store.putSession(session({ sessionId: "a", cid: 3, refreshToken: "token-1" }));
    const readByOne = (await one.store.getSession("a"))!;
    // Two's session end read token-1; one's refresh then stored the token the IdP rotated to.
    assertEquals((await two.store.getSession("a"))?.refreshToken, "token-1");
    assertEquals(await one.store.updateSession({ ...readByOne, refreshToken: "token-2" }), true);
    assertEquals(await two.store.deleteSession("a"), {
      server: "vpn1",
      cid: 3,
      refreshToken: "token-2",
    });
    // Session a's token copied into b's entry: not b's (sealed to a), so not handed back; b is
    // removed all the same, and nothing secret reaches the log.
    await one.store.putSession(session({ sessionId: "a", refreshToken: "token-a" }));
    await one.store.putSession(session({ sessionId: "b", refreshToken: "token-b" }));
    const stolen = await one.client.hgetBuffer(`${config.keyPrefix}s:a`, "t");
    await one.client.hset(`${config.keyPrefix}s:b`, "t", stolen!);
    const logs = await logsOf(async () => {
      assertEquals(await two.store.deleteSession("b"), { server: "vpn1", cid: 7 });
    });
    assertEquals(await one.store.getSession("b"), undefined);
    assertEquals(logs.map((line) => line.level), ["warning"]);
    assert(!JSON.stringify(logs).includes("token-"), JSON.stringify(logs));
  } finally {
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: a session read before is read again once its version changed, whoever wrote it", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  try {
    await one.store.putSession(session({ sessionId: "a", refreshToken: "token-1" }));
    assertEquals((await one.store.getSession("a"))?.refreshToken, "token-1");
    // Another bridge rotates the token and moves the client: the next read shows both.
    await two.store.putSession(session({ sessionId: "a", refreshToken: "token-2", cid: 9 }));
    const moved = await one.store.getSession("a");
    assertEquals(moved?.refreshToken, "token-2");
    assertEquals(moved?.cid, 9);
    // The same entry written again by the same bridge, same fields: a new version all the same.
    const key = `${config.keyPrefix}s:a`;
    const before = await two.client.hget(key, "v");
    await two.store.putSession(session({ sessionId: "a", refreshToken: "token-2", cid: 9 }));
    assert((await two.client.hget(key, "v")) !== before);
    // Changed in Redis itself with a new version: seen. Changed with the version left alone:
    // the reader holding the entry keeps the snapshot it checked.
    const data = JSON.parse((await two.client.hget(key, "d"))!);
    await two.client.hset(key, "d", JSON.stringify({ ...data, username: "mallory" }), "v", "x1");
    assertEquals((await one.store.getSession("a"))?.username, "mallory");
    await two.client.hset(key, "d", JSON.stringify({ ...data, username: "eve" }));
    assertEquals((await one.store.getSession("a"))?.username, "mallory");
    // The token removed in Redis: the session reads without one.
    await two.client.hdel(key, "t");
    await two.client.hset(key, "v", "x2");
    const tokenless = await one.store.getSession("a");
    assert(tokenless !== undefined, "the session without a token is gone");
    assertEquals(tokenless.refreshToken, undefined);
    // An entry without a version (as an older bridge wrote them) is decoded at every read.
    await two.client.hdel(key, "v");
    assertEquals((await one.store.getSession("a"))?.username, "eve");
    await two.client.hset(key, "d", JSON.stringify({ ...data, username: "trudy" }));
    assertEquals((await one.store.getSession("a"))?.username, "trudy");
    await two.store.deleteSession("a");
    assertEquals(await one.store.getSession("a"), undefined);
  } finally {
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: a session this bridge wrote is read back at the version it wrote, without its bytes", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  try {
    const written = session({ sessionId: "a", refreshToken: "token-1", cid: 3 });
    await one.store.putSession(written);
    // Changed in Redis with the version left alone: the bridge that wrote it holds what it
    // wrote (no bytes came back); a bridge that holds nothing reads Redis's bytes.
    const key = `${config.keyPrefix}s:a`;
    const data = JSON.parse((await one.client.hget(key, "d"))!);
    await one.client.hset(key, "d", JSON.stringify({ ...data, username: "eve" }));
    const held = await one.store.getSession("a");
    assertEquals(held, written);
    assert(Object.isFrozen(held));
    assertEquals((await two.store.getSession("a"))?.username, "eve");
    // Another bridge's write gives it a new version: seen at once, token and cid included.
    await two.store.putSession(session({ sessionId: "a", refreshToken: "token-2", cid: 4 }));
    const moved = await one.store.getSession("a");
    assertEquals([moved?.refreshToken, moved?.cid], ["token-2", 4]);
    // Written unbound (a resumable client gone): not held, as a decoded unbound one is not.
    await one.store.putSession(
      session({ sessionId: "a", refreshToken: "token-3", cid: undefined }),
    );
    await one.client.hset(key, "d", JSON.stringify({ ...data, cid: undefined, username: "eve" }));
    assertEquals((await one.store.getSession("a"))?.username, "eve");
  } finally {
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: a session written again with the token it holds keeps the encrypted token; any other change seals it anew", async () => {
  const config = settings(server.url);
  const one = await openStore(config);
  const two = await openStore(config);
  const monitor = await watchCommands(one.client);
  const key = `${config.keyPrefix}s:a`;
  const storedToken = () => one.client.hgetBuffer(key, "t");
  const tokenInRedis = async () => {
    const fresh = await openStore(config);
    try {
      return (await fresh.store.getSession("a"))?.refreshToken;
    } finally {
      await fresh.store.close();
    }
  };
  try {
    await one.store.putSession(session({ sessionId: "a", refreshToken: "token-1", cid: 3 }));
    const sealed = await storedToken();
    // A reconnect (new cid) and a disconnect: one call each, the token neither sent nor changed.
    const held = (await one.store.getSession("a"))!;
    await monitor.settled();
    const callsBefore = monitor.scriptCalls();
    await one.store.putSession({ ...held, cid: 4 });
    await one.store.putSession({ ...held, cid: undefined, resumable: true });
    await monitor.settled();
    assertEquals(monitor.scriptCalls() - callsBefore, 2);
    assertEquals(await storedToken(), sealed);
    const gone = await one.store.getSession("a");
    assertEquals([await tokenInRedis(), gone?.cid, gone?.resumable], ["token-1", undefined, true]);
    // A new token is sealed anew.
    await one.store.putSession(session({ sessionId: "a", refreshToken: "token-2", cid: 5 }));
    assert(!(await storedToken())!.equals(sealed!));
    assertEquals(await tokenInRedis(), "token-2");
    // Another bridge wrote another token meanwhile: the put finds another version, seals its
    // own token and writes again.
    const mine = (await one.store.getSession("a"))!;
    await two.store.putSession(session({ sessionId: "a", refreshToken: "token-b", cid: 5 }));
    await one.store.putSession({ ...mine, cid: 6 });
    assertEquals([await tokenInRedis(), (await two.store.getSession("a"))?.cid], ["token-2", 6]);
    // Two puts of one session in one call: the second asked to keep the token of the version
    // the first replaced, so it is sent again, and the last put's token stands.
    const last = (await one.store.getSession("a"))!;
    await Promise.all([
      one.store.putSession({ ...last, refreshToken: "token-3" }),
      one.store.putSession({ ...last, cid: 7 }),
    ]);
    assertEquals([await tokenInRedis(), (await two.store.getSession("a"))?.cid], ["token-2", 7]);
    // The token removed in Redis under the version held: not kept as "none", sealed again.
    const again = (await one.store.getSession("a"))!;
    await one.client.hdel(key, "t");
    await one.store.putSession({ ...again, cid: 8 });
    assertEquals(await tokenInRedis(), "token-2");
  } finally {
    monitor.stop();
    await one.store.close();
    await two.store.close();
  }
});

Deno.test("RedisStore: a read whose snapshot is dropped while Redis answers it still returns the session", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  const monitor = await watchCommands(client);
  try {
    await store.putSession(session({ sessionId: "a", refreshToken: "token-1" }));
    assertEquals((await store.getSession("a"))?.refreshToken, "token-1");
    await monitor.settled();
    monitor.commands.length = 0;
    // The read goes out with the version held (its batch is sent one microtask later); then a
    // put of this bridge drops the snapshot before Redis's "you hold it" answer comes back.
    const reading = store.getSession("a");
    await Promise.resolve();
    const putting = store.putSession(session({ sessionId: "a", refreshToken: "token-2" }));
    const read = await reading;
    await putting;
    // Read whole instead: the old entry or the new one, never "absent".
    assert(read !== undefined, "a live session read as absent");
    assert(["token-1", "token-2"].includes(read.refreshToken!), read.refreshToken);
    await monitor.settled();
    const reads = monitor.names().filter((name) => name === "evalsha");
    // The held read, the put, and the whole read that followed the dropped snapshot.
    assert(reads.length >= 3, monitor.names().join(" "));
    assertEquals((await store.getSession("a"))?.refreshToken, "token-2");
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: a session read again at the version it holds comes back without its bytes", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  try {
    await store.putSession(session({ sessionId: "a", refreshToken: "token-1" }));
    await store.putSession(session({ sessionId: "b", refreshToken: "token-2", cid: 8 }));
    assertEquals((await store.getSession("a"))?.refreshToken, "token-1");
    const held = await client.hget(`${config.keyPrefix}s:a`, "v");
    // The script as the store calls it: per id asked, nil when the version sent is held, else
    // [data, token, version].
    const reply = await client.evalsha(
      await client.script("LOAD", SCRIPTS.getSessions) as string,
      0,
      config.keyPrefix,
      "a",
      held!,
      "b",
      "stale-version",
      "absent",
      "",
    ) as Array<Array<string | null> | null>;
    assertEquals(reply.length, 3);
    assertEquals(reply[0], null);
    assertEquals(reply[1]?.length, 3);
    assert(reply[1]!.every((field) => field !== null));
    assertEquals(reply[2], [null, null, null]);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: REAUTH reads of sessions held here cost one script call, one nil back each and no decryption", async () => {
  const cipher = await TokenCipher.fromKeyBytes(KEY);
  const { store, client } = await openStore(settings(server.url), { cipher });
  const count = 50;
  const ids = Array.from({ length: count }, (_, i) => `s${i}`);
  // What Redis sent back for each session read (the store calls the Buffer form of the script).
  const scripts = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const replies: unknown[][] = [];
  const getSessions = scripts["getSessionsBuffer"]!;
  scripts["getSessionsBuffer"] = async function (this: unknown, ...args: unknown[]) {
    const reply = await getSessions.apply(this, args) as unknown[];
    replies.push(reply);
    return reply;
  };
  try {
    await Promise.all(
      ids.map((sessionId, cid) =>
        store.putSession(session({ sessionId, cid, refreshToken: `token-${cid}` }))
      ),
    );
    // Held at the version this bridge wrote: a storm of REAUTHs finds them all unchanged.
    cipher.decryptToken = () => Promise.reject(new Error("a held session was decrypted again"));
    const read = await Promise.all(ids.map((id) => store.getSession(id)));
    assertEquals(read.map((found) => found?.refreshToken), ids.map((_, i) => `token-${i}`));
    assertEquals(replies.length, 1);
    assertEquals(replies[0], ids.map(() => null));
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: session reads issued together go as one call per CALL_BATCH, each answered with its own entry", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config, { maxEntries: 2000 });
  const monitor = await watchCommands(client);
  try {
    const count = CALL_BATCH + 100;
    const ids = Array.from({ length: count }, (_, i) => `s${i}`);
    // The last id is never stored: its read answers undefined among the others.
    await Promise.all(
      ids.slice(0, -1).map((sessionId, cid) =>
        store.putSession(session({ sessionId, cid, refreshToken: `token-${cid}` }))
      ),
    );
    await store.getSession("s0");
    await monitor.settled();
    monitor.commands.length = 0;
    const read = await Promise.all(ids.map((id) => store.getSession(id)));
    await monitor.settled();
    assertEquals(
      read.map((found) => found?.refreshToken),
      [...ids.slice(0, -1).map((_, cid) => `token-${cid}`), undefined],
    );
    assertEquals(read.slice(0, -1).map((found) => found?.sessionId), ids.slice(0, -1));
    const calls = monitor.names().filter((name) => name === "evalsha" || name === "eval");
    assertEquals(calls.length, Math.ceil(count / CALL_BATCH), monitor.names().join(" "));
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: new pending logins put together go as one call per CALL_BATCH, each stored or refused on its own", async () => {
  const { store, monitor, room, count } = await storeForPutsTogether();
  try {
    const logins = Array.from(
      { length: count },
      (_, i) => pendingLogin({ id: `p${i}`, cid: i, expiresAt: T0 + MINUTE + i, oauth: undefined }),
    );
    const puts = await Promise.allSettled(logins.map((login) => store.putPending(login)));
    await monitor.settled();
    assertPutTogether(monitor, puts, room);
    for (const i of [0, 1, CALL_BATCH - 1, CALL_BATCH, room - 1]) {
      assertEquals(await store.getPending(`p${i}`), logins[i], `p${i}`);
    }
    assertEquals(await store.getPending(`p${room}`), undefined);
    assertEquals((await store.countLive("vpn1")).pending, room);
    // Each one is indexed by its client, as a put alone indexes it.
    assertEquals(await store.deletePendingByCid("vpn1", CALL_BATCH), 1);
    assertEquals(await store.getPending(`p${CALL_BATCH}`), undefined);
    // With their OAuth state (encrypted apart): again one call, each read back whole.
    await store.sweep(T0 + 2 * MINUTE + PENDING_GRACE_MS);
    await monitor.settled();
    monitor.commands.length = 0;
    const withState = [0, 1, 2].map((i) => pendingLogin({ id: `o${i}`, cid: 1000 + i }));
    await Promise.all(withState.map((login) => store.putPending(login)));
    await monitor.settled();
    assertEquals(monitor.scriptCalls(), 1);
    for (const login of withState) assertEquals(await store.getPending(login.id), login);
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: sessions written together go as one call per CALL_BATCH, each written or refused on its own", async () => {
  const { config, store, monitor, room, count } = await storeForPutsTogether();
  try {
    // As a reconnect storm writes them: each moved to its new cid; every other one with a sid.
    const sessions = Array.from({ length: count }, (_, i) =>
      session({
        sessionId: `s${i}`,
        cid: 10_000 + i,
        username: `user${i % 7}`,
        refreshToken: `token-${i}`,
        ...(i % 2 === 0 ? { sid: `sid-${i}` } : { sid: undefined }),
      }));
    const puts = await Promise.allSettled(sessions.map((entry) => store.putSession(entry)));
    await monitor.settled();
    assertPutTogether(monitor, puts, room);
    // Each one read back whole (from Redis: another store holds no snapshot) and indexed.
    const other = await openStore(config, { maxEntries: room });
    try {
      for (const i of [0, 1, CALL_BATCH - 1, CALL_BATCH, room - 1]) {
        assertEquals(await other.store.getSession(`s${i}`), sessions[i], `s${i}`);
        assertEquals(await other.store.findSessionIdByCid("vpn1", 10_000 + i), `s${i}`);
      }
      assertEquals(await other.store.getSession(`s${room}`), undefined);
      assertEquals(
        (await other.store.findSessionsBySid(`sid-${CALL_BATCH}`)).map((s) => s.sessionId),
        [`s${CALL_BATCH}`],
      );
      assertEquals(
        (await other.store.findSessionsByUsername("user3")).length,
        sessions.slice(0, room).filter((s) => s.username === "user3").length,
      );
      assertEquals((await other.store.countLive("vpn1")).sessions, room);
    } finally {
      await other.store.close();
    }
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: a failed call fails every pending login put with it, and the next put is a call of its own", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  const other = client.duplicate();
  const watcher = client.duplicate();
  await Promise.all([other.connect(), watcher.connect()]);
  try {
    // A script that runs until it is killed: past the threshold Redis answers every other
    // command BUSY, so the one script call of the puts below fails as a whole.
    await client.config("SET", "busy-reply-threshold", "20");
    const busy = other.eval("while true do redis.call('TIME') end", 0).catch(() => undefined);
    while (await watcher.ping().then(() => true, () => false)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const puts = await Promise.allSettled(
      [0, 1, 2].map((i) => store.putPending(pendingLogin({ id: `b${i}`, cid: i }))),
    );
    await watcher.script("KILL");
    await busy;
    assertEquals(puts.map((put) => put.status), ["rejected", "rejected", "rejected"]);
    const reasons = puts.map((put) => put.status === "rejected" ? String(put.reason) : "");
    assertEquals(new Set(reasons).size, 1, reasons.join(" | "));
    assertMatch(reasons[0]!, /BUSY/);
    assertEquals(await store.getPending("b0"), undefined);
    await store.putPending(pendingLogin({ id: "b3", cid: 3 }));
    assertEquals((await store.getPending("b3"))?.cid, 3);
  } finally {
    await client.config("SET", "busy-reply-threshold", "5000");
    other.disconnect();
    watcher.disconnect();
    await store.close();
  }
});

Deno.test("RedisStore: warmUp reads the sessions bound on the servers named, and reads after it still see Redis", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  const monitor = await watchCommands(client);
  try {
    await store.putSession(session({ sessionId: "bound", cid: 1 }));
    await store.putSession(session({ sessionId: "unbound", cid: undefined }));
    await store.putSession(session({ sessionId: "elsewhere", server: "vpn2", cid: 2 }));
    await monitor.settled();
    monitor.commands.length = 0;
    await store.warmUp(["vpn1"]);
    await monitor.settled();
    // evalsha, sha, key count, prefix, then the script's arguments.
    const read = monitor.commands.filter(([name]) => /^eval/i.test(name!)).flatMap((a) =>
      a.slice(4)
    );
    assert(read.includes("bound"), read.join(" "));
    assert(!read.includes("unbound") && !read.includes("elsewhere"), read.join(" "));
    const key = `${config.keyPrefix}s:bound`;
    const data = JSON.parse((await client.hget(key, "d"))!);
    await client.hset(key, "d", JSON.stringify({ ...data, username: "mallory" }), "v", "new");
    assertEquals((await store.getSession("bound"))?.username, "mallory");
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: a store opened with another key fails loudly at open", async () => {
  const config = settings(server.url);
  const first = await openStore(config);
  await first.store.close();
  await assertRejects(
    () => openStore(config, { key: new Uint8Array(32).fill(9) }),
    Error,
    /Session store key mismatch: redis:\/\/127\.0\.0\.1:\d+\/0 \(key prefix test\d+:\)/,
  );
  const again = await openStore(config);
  await again.store.close();
});

Deno.test("RedisStore: entries expire by TTL; a login's and a session's key outlive them by their grace", async () => {
  const config = settings(server.url);
  const start = Date.now();
  const { store, client } = await openStore(config, { now: () => start });
  try {
    await store.putPending(pendingLogin({ expiresAt: start + 60_000 }));
    await store.putSession(session({ expiresAt: start + 3_600_000 }));
    const pendingTtl = await client.pttl(`${config.keyPrefix}p:p-1`);
    const sessionTtl = await client.pttl(`${config.keyPrefix}s:sess-1`);
    assert(
      pendingTtl > 60_000 && pendingTtl <= 60_000 + PENDING_GRACE_MS,
      `pending TTL ${pendingTtl}`,
    );
    assert(
      sessionTtl > 3_600_000 && sessionTtl <= 3_600_000 + SESSION_GRACE_MS,
      `session TTL ${sessionTtl}`,
    );
    // Every per-key index the two entries are in (redis_scripts.ts), found by the patterns
    // below: an index renamed or no longer written is missed here, not passed over.
    const p = config.keyPrefix;
    const found = async (pattern: string) =>
      (await client.keys(`${p}${pattern}`)).map((key) => key.slice(p.length)).sort();
    const sessionIndexes = await found("s[cuniv]:*");
    assertEquals(sessionIndexes, ["sc:vpn1", "si:sso-1", "sn:alice", "su:u-1", "sv:vpn1"]);
    const pendingIndexes = await found("p[cv]:*");
    assertEquals(pendingIndexes, ["pc:7:vpn1", "pv:vpn1"]);
    // Each lasts at least as long as its entry (less the few milliseconds since it was read).
    for (
      const [indexes, entryTtl] of [[sessionIndexes, sessionTtl], [
        pendingIndexes,
        pendingTtl,
      ]] as const
    ) {
      for (const index of indexes) {
        const ttl = await client.pttl(`${p}${index}`);
        assert(ttl > 0 && ttl >= entryTtl - 1_000, `${index}: TTL ${ttl}, its entry's ${entryTtl}`);
      }
    }
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: a sign-in past its deadline is kept for the deadline's delete: a callback's take is refused, a sweep from a clock ahead leaves it", async () => {
  // Redis counts a TTL down in real time, so the store reads the real clock too.
  const { store } = await openStore(settings(server.url), { now: Date.now });
  try {
    const expiresAt = Date.now() + 200;
    await store.putPending(pendingLogin({ expiresAt }));
    await new Promise((resolve) => setTimeout(resolve, expiresAt + 100 - Date.now()));
    assertEquals(await store.getPending("p-1"), undefined);
    assertEquals(await store.takePending("p-1"), undefined, "too late for a callback");
    // Another bridge sweeps, its clock 5 s ahead of this one's.
    assertEquals(await store.sweep(Date.now() + 5_000), { pending: 0, sessions: 0 });
    // The deadline's delete finds it: the client is told the sign-in was not completed in time.
    assertEquals(await store.deletePending("p-1"), true);
    assertEquals(await store.deletePending("p-1"), false);
    // Past the grace, nobody's deadline needs it: a sweep removes it.
    await store.putPending(pendingLogin({ id: "p-2", expiresAt }));
    assertEquals(await store.sweep(expiresAt + PENDING_GRACE_MS), { pending: 0, sessions: 0 });
    assertEquals(await store.sweep(expiresAt + PENDING_GRACE_MS + 1), { pending: 1, sessions: 0 });
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: a session and its indexes change together and leave nothing behind", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  const keys = async () => (await client.keys(`${config.keyPrefix}*`)).sort();
  const p = config.keyPrefix;
  try {
    await store.putSession(session({ cid: 7, subject: "u-1", sid: "sso-1", username: "alice" }));
    assertEquals(await keys(), [
      `${p}key_check`,
      `${p}s:sess-1`,
      `${p}sc:vpn1`,
      `${p}si:sso-1`,
      `${p}sn:alice`,
      `${p}su:u-1`,
      `${p}sv:vpn1`,
      `${p}sz`,
    ]);
    await store.putSession(session({ cid: 9, subject: "u-2", sid: undefined, username: "bob" }));
    assertEquals(await client.zrange(`${p}sc:vpn1`, "0", "-1", "WITHSCORES"), ["sess-1", "9"]);
    assertEquals(await store.findSessionsBySid("sso-1"), []);
    assertEquals(await store.findSessionsByUsername("alice"), []);
    assertEquals((await store.findSessionsBySubject("u-2")).length, 1);
    assertEquals(await store.findSessionIdByCid("vpn1", 7), undefined);
    await store.putPending(pendingLogin());
    assert(await store.takePending("p-1"));
    assert(await store.deleteSession("sess-1"));
    assertEquals(await keys(), [`${p}key_check`]);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: sweep() reads the expiry index and never scans the key space", async () => {
  const config = settings(server.url);
  let time = T0;
  const { store, client } = await openStore(config, { now: () => time });
  const monitor = await client.duplicate().monitor();
  const commands: string[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => commands.push(args[0]!.toLowerCase()));
  try {
    await store.putSession(session({ sessionId: "old", expiresAt: T0 + MINUTE }));
    await store.putPending(pendingLogin({ id: "p-old", expiresAt: T0 + MINUTE }));
    time = T0 + 2 * MINUTE + PENDING_GRACE_MS;
    commands.length = 0;
    assertEquals(await store.sweep(time), { pending: 1, sessions: 1 });
    await client.ping();
    assert(commands.length > 0, "MONITOR saw the sweep");
    for (const scan of ["keys", "scan", "hscan", "sscan", "zscan"]) {
      assert(!commands.includes(scan), `sweep sent ${scan}: ${commands.join(" ")}`);
    }
  } finally {
    monitor.disconnect();
    await store.close();
  }
});

Deno.test("RedisStore: sweep() removes expired sessions with their index entries", async () => {
  const config = settings(server.url);
  let time = T0;
  const { store, client } = await openStore(config, { now: () => time, maxEntries: 10_000 });
  try {
    for (let i = 0; i < 2_500; i++) {
      await store.putSession(session({ sessionId: `s${i}`, cid: i, expiresAt: T0 + MINUTE }));
    }
    await store.putSession(session({ sessionId: "live", cid: 99_999 }));
    time = T0 + 2 * MINUTE;
    assertEquals(await store.sweep(time), { pending: 0, sessions: 2_500 });
    assertEquals(await client.zrange(`${config.keyPrefix}sc:vpn1`, "0", "-1", "WITHSCORES"), [
      "live",
      "99999",
    ]);
    assertEquals(await client.smembers(`${config.keyPrefix}sn:alice`), ["live"]);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: a put into a full store removes one batch of expired entries, the sweep the rest", async () => {
  const config = settings(server.url);
  const clock = { time: T0 };
  const maxEntries = SWEEP_BATCH + 10;
  const { store, client } = await openStore(config, { now: () => clock.time, maxEntries });
  const stored = () => client.zcard(`${config.keyPrefix}sz`);
  const put = (id: string, expiresAt: number) =>
    store.putSession(session({ sessionId: id, expiresAt }));
  try {
    await Promise.all(Array.from({ length: maxEntries }, (_, i) => put(`old-${i}`, T0 + 1_000)));
    clock.time = T0 + 2_000;
    await put("new-1", T0 + 60_000);
    // Not every expired entry: one script must not hold Redis for all of them.
    assertEquals(await stored(), maxEntries - SWEEP_BATCH + 1);
    // The batch made room for as many new entries as it removed.
    await Promise.all(
      Array.from({ length: SWEEP_BATCH - 1 }, (_, i) => put(`new-${i + 2}`, T0 + 60_000)),
    );
    assertEquals(await store.sweep(clock.time), { pending: 0, sessions: 10 });
    assertEquals(await stored(), SWEEP_BATCH);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: bindings an older bridge wrote (sb:, one per cid) are found, listed and cleaned up", async () => {
  const config = settings(server.url);
  const { store, client } = await openStore(config);
  const p = config.keyPrefix;
  try {
    // As a bridge from before sc: left it: the binding in the server's hash only.
    await store.putSession(session({ sessionId: "before", cid: 3, expiresAt: T0 + 60 * MINUTE }));
    await client.zrem(`${p}sc:vpn1`, "before");
    await client.hset(`${p}sb:vpn1`, "3", "before");
    assertEquals(await store.findSessionIdByCid("vpn1", 3), "before");
    await store.putSession(session({ sessionId: "after", cid: 3 }));
    assertEquals(await store.findSessionIdByCid("vpn1", 3), "before");
    assertEquals(
      (await store.listBindings("vpn1")).sort((x, y) => x.sessionId < y.sessionId ? -1 : 1),
      [{ sessionId: "after", cid: 3 }, { sessionId: "before", cid: 3 }],
    );
    assert(await store.deleteSession("before"));
    assertEquals(await client.hgetall(`${p}sb:vpn1`), {});
    assertEquals(await store.findSessionIdByCid("vpn1", 3), "after");
    // Moved by an older bridge, which leaves sc: alone: no longer found there, and dropped.
    await client.hset(`${p}s:after`, "cid", "9");
    assertEquals(await store.findSessionIdByCid("vpn1", 3), undefined);
    assertEquals(await client.zscore(`${p}sc:vpn1`, "after"), null);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: listings go one page of LIST_CHUNK per script call, each live entry once", async () => {
  const { clock, store, monitor } = await watchedStore(2_000);
  try {
    const count = 2 * LIST_CHUNK + 10;
    // Two expiries, so that pages cross from one score to the next; a few expired ones.
    const expiry = (i: number) => T0 + (i % 2 === 0 ? 8 : 9) * 60 * MINUTE;
    await Promise.all([
      ...Array.from(
        { length: count },
        (_, i) => store.putSession(session({ sessionId: `s${i}`, cid: i, expiresAt: expiry(i) })),
      ),
      ...Array.from(
        { length: count },
        (_, i) => store.putPending(pendingLogin({ id: `p${i}`, cid: i, expiresAt: expiry(i) })),
      ),
      ...["gone-1", "gone-2"].map((id, i) =>
        store.putSession(session({ sessionId: id, cid: 9_000 + i, expiresAt: T0 + MINUTE }))
      ),
      store.putPending(pendingLogin({ id: "gone-p", cid: 9_100, expiresAt: T0 + MINUTE })),
    ]);
    clock.time = T0 + 2 * MINUTE;
    const { result: sessions, calls, names } = await alone(
      monitor,
      () => collectPages(store.sessionPages()),
    );
    assertEquals(calls, 3, names);
    assertEquals(
      sessions.map((s) => s.sessionId).sort(),
      Array.from({ length: count }, (_, i) => `s${i}`).sort(),
    );
    assertEquals(
      sessions.find((s) => s.sessionId === "s7"),
      listed({ sessionId: "s7", cid: 7, expiresAt: expiry(7) }),
    );
    const logins = await alone(monitor, () => collectPages(store.pendingPages()));
    assertEquals(logins.calls, 3, logins.names);
    assertEquals(
      logins.result.map((l) => l.id).sort(),
      Array.from({ length: count }, (_, i) => `p${i}`).sort(),
    );
  } finally {
    monitor.stop();
    await store.close();
  }
});

Deno.test("RedisStore: sessionPages() reads no refresh token: none is sent or decrypted", async () => {
  const cipher = await TokenCipher.fromKeyBytes(KEY);
  const { store } = await openStore(settings(server.url), { cipher });
  try {
    for (let i = 0; i < 3; i++) {
      await store.putSession(session({ sessionId: `s${i}`, cid: i, refreshToken: `t-${i}` }));
    }
    cipher.decryptToken = () => Promise.reject(new Error("a listing decrypted a refresh token"));
    assertEquals((await collectPages(store.sessionPages())).map((s) => s.sessionId).sort(), [
      "s0",
      "s1",
      "s2",
    ]);
  } finally {
    await store.close();
  }
});

Deno.test("RedisStore: an entry written again or removed between a listing's pages leaves none out and none twice", async () => {
  const config = settings(server.url);
  const count = 2 * LIST_CHUNK + 10;
  const later = T0 + 10 * 60 * MINUTE;
  // What another bridge does once the first page is read; `cursor` is that page's last id.
  const changes: Record<string, (other: RedisStore, cursor: string) => Promise<unknown>> = {
    "the page's last entry removed": (other, cursor) => other.deleteSession(cursor),
    "the page's last entry moved to a later expiry": (other, cursor) =>
      other.putSession(session({ sessionId: cursor, cid: 9_999, expiresAt: later })),
    "an entry of the page moved to a later expiry": (other) =>
      other.putSession(session({ sessionId: "s0", cid: 9_999, expiresAt: later })),
  };
  for (const [name, change] of Object.entries(changes)) {
    const one = await openStore(config, { maxEntries: 2_000 });
    const two = await openStore(config, { maxEntries: 2_000 });
    try {
      const expiry = (i: number) => T0 + (i % 2 === 0 ? 8 : 9) * 60 * MINUTE;
      await Promise.all(
        Array.from(
          { length: count },
          (_, i) =>
            one.store.putSession(session({ sessionId: `s${i}`, cid: i, expiresAt: expiry(i) })),
        ),
      );
      const scripts = one.client as unknown as Record<string, ListCall>;
      const list = scripts["listSessionsBuffer"]!;
      let pages = 0;
      let changed = "";
      // ioredis calls the command again on its auto-pipeline, which copies it: only the
      // client's own call is a page.
      scripts["listSessionsBuffer"] = async function (this: unknown, ...args) {
        const page = await list.apply(this, args);
        if (this === one.client && ++pages === 1) {
          changed = String(page[1]);
          await change(two.store, changed);
        }
        return page;
      };
      const listed = (await collectPages(one.store.sessionPages())).map((s) => s.sessionId);
      const stored = await two.client.zrange(`${config.keyPrefix}sz`, "0", "-1");
      // Listed before it was removed, the removed entry stays in the listing.
      if (name.includes("removed")) stored.push(changed);
      assertEquals(listed.slice().sort(), stored.sort(), name);
      assertEquals(new Set(listed).size, listed.length, `${name}: listed twice`);
      if (name.includes(" moved ")) {
        const moved = name.startsWith("an entry") ? "s0" : changed;
        const entry = (await collectPages(one.store.sessionPages())).find((s) =>
          s.sessionId === moved
        );
        assertEquals(entry?.expiresAt, later, name);
      }
    } finally {
      await one.store.close();
      await two.store.close();
    }
  }
});

Deno.test("RedisStore: listBindings() reads a server's bindings a page per script call, each live one once", async () => {
  const { clock, store, monitor } = await watchedStore(4_000);
  try {
    const count = 3 * BINDINGS_CHUNK + 10;
    await Promise.all([
      ...Array.from(
        { length: count },
        (_, i) => store.putSession(session({ sessionId: `b${i}`, cid: i })),
      ),
      store.putSession(session({ sessionId: "away", cid: undefined })),
      store.putSession(session({ sessionId: "gone", cid: count, expiresAt: T0 + MINUTE })),
      store.putSession(session({ sessionId: "elsewhere", server: "vpn2", cid: 1 })),
    ]);
    clock.time = T0 + 2 * MINUTE;
    const { result: bindings, calls, names } = await alone(
      monitor,
      () => store.listBindings("vpn1"),
    );
    assert(calls >= 3, names);
    assertEquals(
      bindings.sort((a, b) => a.cid - b.cid),
      Array.from({ length: count }, (_, i) => ({ sessionId: `b${i}`, cid: i })),
    );
  } finally {
    monitor.stop();
    await store.close();
  }
});
