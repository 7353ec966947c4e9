/**
 * What OpenVPN sent (session id, common name, client IP) reaches a store as slices of the
 * management chunk it was read from. A store that keeps the session in memory (the memory
 * store; the file store's cache) must keep strings of its own, or each stored session holds its
 * whole chunk alive. Here each session's strings are slices of a 1 MiB chunk of its own.
 * So must a sign-in in progress, which the bridge keeps for minutes: its deadline, its pending
 * login and the file store's cache of it once held the chunk its CONNECT came in. And so must a
 * store's cache of what it read: a session read for a REAUTH was cached under the id the
 * REAUTH asked with, a slice of that REAUTH's chunk, which only Bun keeps alive through a Map
 * key (_kept_reads_child.ts runs there).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../src/sessions/memory_store.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { ManagementProtocol } from "../../src/management/protocol.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { CLIENT_CERTIFICATE_SERIAL } from "../support/client_certificate.ts";
import { testClientEvents, testSession } from "../support/client_events_fixture.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { RedisServer } from "../support/redis_server.ts";
import { runUnderBun } from "../support/bun_child.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { withFileStore } from "./_fixtures.ts";
import { collectPages } from "../../src/sessions/list_chunk.ts";
import { ServerLink } from "../../src/bridge/server_link.ts";
import { managementCommander } from "../../src/bridge/management_commander.ts";
import { getLogger } from "../../src/log.ts";
import { scriptedConnection } from "../support/scripted_connection.ts";

const SESSIONS = 50;
const CHUNK_CHARS = 1 << 20;
const FILLER_CHARS = 4096;
const T0 = 1_800_000_000_000;

/** Stores SESSIONS sessions read out of chunks nobody else keeps; returns the heap growth. */
async function heapKeptByChunks(store: SessionStore): Promise<number> {
  const idle = await settledHeap();
  for (let i = 0; i < SESSIONS; i++) {
    // Each value long enough to be a slice, not a copy (V8 copies substrings under 13 chars).
    const head = `>CLIENT:ENV,session_id=chunk-session-${String(i).padStart(4, "0")}\n` +
      `>CLIENT:ENV,common_name=cert-user-${i}.vpn.example.com\n` +
      `>CLIENT:ENV,untrusted_ip=2001:db8:0:${i}::7\n`;
    const chunk = head + "x".repeat(CHUNK_CHARS) + i;
    const value = (name: string) => {
      const start = chunk.indexOf(`${name}=`) + name.length + 1;
      return chunk.slice(start, chunk.indexOf("\n", start));
    };
    await store.putSession(testSession({
      sessionId: value("session_id"),
      commonName: value("common_name"),
      clientIp: value("untrusted_ip"),
      cid: i,
      createdAt: T0,
      lastAuthAt: T0,
      expiresAt: T0 + 3_600_000,
    }));
  }
  const growth = (await settledHeap()) - idle;
  const stored = await store.getSession("chunk-session-0007");
  assertEquals(
    [stored?.commonName, stored?.clientIp],
    ["cert-user-7.vpn.example.com", "2001:db8:0:7::7"],
  );
  return growth;
}

/**
 * Begins SIGN_INS sign-ins, each from a CONNECT block read by the management protocol out of a
 * chunk nobody else keeps; returns the heap growth while they are all still in progress.
 */
async function heapKeptBySignIns(store: SessionStore): Promise<number> {
  const { events, commander } = testClientEvents({
    store,
    clock: new FakeClock(T0),
    authPendingTimeoutMs: 180_000,
  });
  const protocol = new ManagementProtocol();
  const idle = await settledHeap();
  for (let i = 0; i < SESSIONS; i++) {
    const env = [
      `session_id=chunk-session-${String(i).padStart(4, "0")}`,
      `common_name=cert-user-${i}.vpn.example.com`,
      `tls_serial_0=${CLIENT_CERTIFICATE_SERIAL}`,
      `untrusted_ip=2001:db8:0:${i}::7`,
      "IV_PLAT=android",
      "IV_VER=2.6.14-0123456789abcdef",
      "IV_SSO=openurl,webauth,crtext",
      // The protocol keeps lines of up to 8 KiB: the chunk's 1 MiB comes in many.
      ...Array.from(
        { length: CHUNK_CHARS / FILLER_CHARS },
        (_, n) => `filler_${n}=${"x".repeat(FILLER_CHARS)}`,
      ),
    ];
    const chunk = `>CLIENT:CONNECT,${i},1\r\n` +
      env.map((line) => `>CLIENT:ENV,${line}\r\n`).join("") + ">CLIENT:ENV,END\r\n";
    for (const event of protocol.push(chunk).events) {
      if (event.type === "client-connect") await events.onConnect(event.cid, event.kid, event.env);
    }
  }
  const growth = (await settledHeap()) - idle;
  assertEquals(commander.commands.filter((c) => c.kind === "pending").length, SESSIONS);
  const login = (await collectPages(store.pendingPages())).find((pending) => pending.cid === 7);
  assertEquals(
    [login?.commonName, login?.clientIp, login?.sessionId, login?.platform, login?.clientVersion],
    [
      "cert-user-7.vpn.example.com",
      "2001:db8:0:7::7",
      "chunk-session-0007",
      "android",
      "2.6.14-0123456789abcdef",
    ],
  );
  events.close();
  return growth;
}

/** `store`, whose session reads wait until `released` settles. */
function readsWaitFor(store: SessionStore, released: Promise<void>): SessionStore {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (name !== "getSession") return typeof value === "function" ? value.bind(target) : value;
      return async (sessionId: string) => {
        await released;
        return await target.getSession(sessionId);
      };
    },
  });
}

/**
 * Sends SESSIONS REAUTHs through a ServerLink, each read by the management protocol out of a
 * chunk nobody else keeps, while the store holds back their session reads; returns the heap
 * growth while they all wait, then lets them be answered.
 */
async function heapKeptByWaitingReauths(): Promise<number> {
  const store = new MemoryStore({ maxEntries: SESSIONS, now: () => T0 });
  const id = (i: number) => `chunk-session-${String(i).padStart(4, "0")}`;
  const commonName = (i: number) => `cert-user-${i}.vpn.example.com`;
  const clientIp = (i: number) => `2001:db8:0:${i}::7`;
  for (let i = 0; i < SESSIONS; i++) {
    await store.putSession(testSession({
      sessionId: id(i),
      cid: i,
      commonName: commonName(i),
      clientIp: clientIp(i),
      createdAt: T0,
      lastAuthAt: T0,
      expiresAt: T0 + 3_600_000,
    }));
  }
  const read = Promise.withResolvers<void>();
  const { connection, sent, emit } = scriptedConnection((_command, count) => ({
    ticket: count,
    type: "success",
    message: "ok",
  }));
  const clock = new FakeClock(T0);
  const { events } = testClientEvents({
    store: readsWaitFor(store, read.promise),
    clock,
    eventsCommander: managementCommander(connection),
  });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  const protocol = new ManagementProtocol();
  try {
    const idle = await settledHeap();
    for (let i = 0; i < SESSIONS; i++) {
      const env = [
        `session_id=${id(i)}`,
        "session_state=Authenticated",
        `common_name=${commonName(i)}`,
        `tls_serial_0=${CLIENT_CERTIFICATE_SERIAL}`,
        `untrusted_ip=${clientIp(i)}`,
        ...Array.from(
          { length: CHUNK_CHARS / FILLER_CHARS },
          (_, n) => `filler_${n}=${"x".repeat(FILLER_CHARS)}`,
        ),
      ];
      const chunk = `>CLIENT:REAUTH,${i},2\r\n` +
        env.map((line) => `>CLIENT:ENV,${line}\r\n`).join("") + ">CLIENT:ENV,END\r\n";
      for (const event of protocol.push(chunk).events) emit(event);
    }
    const growth = (await settledHeap()) - idle;
    assertEquals(sent, [], "answered before the store read");
    read.resolve();
    for (let tries = 0; sent.length < SESSIONS && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(sent, Array.from({ length: SESSIONS }, (_, i) => `client-auth-nt ${i} 2`));
    return growth;
  } finally {
    await link.stop();
    await store.close();
  }
}

function assertChunksFreed(growth: number, what = "stored sessions"): void {
  // Held chunks would be SESSIONS MiB; the sessions themselves are a few KiB.
  assert(
    growth < (SESSIONS * CHUNK_CHARS) / 5,
    `Heap ${Math.round(growth / 1024)} KiB above idle: ${what} keep their chunks`,
  );
}

Deno.test("a session in the memory store does not keep the management chunk it came in", async () => {
  const store = new MemoryStore({ maxEntries: SESSIONS, now: () => T0 });
  try {
    assertChunksFreed(await heapKeptByChunks(store));
  } finally {
    await store.close();
  }
});

Deno.test("a session in the file store's cache does not keep the management chunk it came in", async () => {
  await withFileStore(SESSIONS, () => T0, async (store) => {
    assertChunksFreed(await heapKeptByChunks(store));
  });
});

Deno.test("a sign-in in progress does not keep the management chunk its CONNECT came in: memory store", async () => {
  const store = new MemoryStore({ maxEntries: SESSIONS, now: () => T0 });
  try {
    assertChunksFreed(await heapKeptBySignIns(store), "sign-ins in progress");
  } finally {
    await store.close();
  }
});

Deno.test("a sign-in in progress does not keep the management chunk its CONNECT came in: file store", async () => {
  await withFileStore(SESSIONS, () => T0, async (store) => {
    assertChunksFreed(await heapKeptBySignIns(store), "sign-ins in progress");
  });
});

Deno.test("a REAUTH waiting for its session read does not keep the management chunk it came in", async () => {
  assertChunksFreed(await heapKeptByWaitingReauths(), "REAUTHs waiting for the store");
});

Deno.test("on Bun, a session read for a REAUTH is not cached under the REAUTH's chunk: file and Redis stores", async () => {
  const redis = await RedisServer.start();
  const dir = mkdtempSync(join(tmpdir(), "stress-strings-"));
  try {
    const kept = await runUnderBun(
      new URL("./_kept_reads_child.ts", import.meta.url),
      [join(dir, "sessions.sqlite"), redis.url],
    ) as { file: number; redis: number };
    assertChunksFreed(kept.file, "the file store's cached reads");
    assertChunksFreed(kept.redis, "the Redis store's remembered reads");
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
