/**
 * A request that takes long (a revoke whose kills wait on a hung OpenVPN) is answered, not
 * reported as an unreachable service: the service keeps the connection alive meanwhile. A service
 * that sends nothing at all still times out. Stopping the service lets an answer in progress
 * finish before the connection closes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { idleControlConnection, rawControlRequest } from "../../support/control_socket.ts";
import type { RevocationTarget } from "../../../src/bridge/revocation.ts";
import { sendControlRequest } from "../../../src/control/client.ts";
import { startControlServer } from "../../../src/control/server.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { listed, T0 } from "../../unit/sessions/fixtures.ts";

const STILL_CONNECTED = [
  { server: "vpn1", cid: 7, username: "alice" },
  { server: "vpn1", cid: 8, username: "alice" },
];

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A control server whose revocation takes `revokeMs`, as endAll does with OpenVPN hung. */
async function slowServer(
  revokeMs: number,
  options: { keepaliveMs?: number; closeGraceMs?: number; requestTimeoutMs?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "control-slow-"));
  const path = join(dir, "control.sock");
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  const revokes: RevocationTarget[] = [];
  let revoked = 0;
  const server = await startControlServer(path, {
    store,
    revocation: {
      revoke: async (target) => {
        revokes.push(target);
        await delay(revokeMs);
        revoked++;
        return { ended: 2, stillConnected: STILL_CONNECTED };
      },
    },
    now: () => T0,
    log: getLogger("test"),
    ...options,
  });
  const cleanup = async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { path, server, store, revokes, revokedCount: () => revoked, cleanup };
}

const revokeAlice = {
  command: "sessions.revoke",
  target: { kind: "user", username: "alice" },
} as const;

Deno.test("control socket: a revoke slower than the admin command's idle timeout is answered, with the clients still connected", async () => {
  const t = await slowServer(1_000, { keepaliveMs: 100 });
  try {
    const answer = await sendControlRequest(t.path, revokeAlice, { idleTimeoutMs: 400 });
    assertEquals(answer, { ok: true, ended: 2, stillConnected: STILL_CONNECTED });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: a revoke slower than the request timeout is answered, not told no request came", async () => {
  // The request timeout bounds the wait for the request line only, not the work it asks for.
  const t = await slowServer(300, { requestTimeoutMs: 100, keepaliveMs: 50 });
  try {
    const answer = await sendControlRequest(t.path, revokeAlice, { idleTimeoutMs: 1_000 });
    assertEquals(answer, { ok: true, ended: 2, stillConnected: STILL_CONNECTED });
    assertEquals(t.revokedCount(), 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: the keepalive stops once the answer is written (no timer left per request)", async () => {
  // A distinct interval, so the spy counts only the keepalive's timers.
  const keepaliveMs = 37;
  const live = new Set<unknown>();
  const { setInterval: realSet, clearInterval: realClear } = globalThis;
  globalThis.setInterval = ((fn: () => void, ms?: number) => {
    const id = realSet(fn, ms);
    if (ms === keepaliveMs) live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearInterval = ((id?: number) => {
    live.delete(id);
    realClear(id);
  }) as typeof clearInterval;
  const t = await slowServer(150, { keepaliveMs });
  try {
    const answer = await sendControlRequest(t.path, revokeAlice);
    assertEquals(answer, { ok: true, ended: 2, stillConnected: STILL_CONNECTED });
    assertEquals(live.size, 0, "keepalive intervals still running after the answer");
  } finally {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
    for (const id of live) realClear(id as number);
    await t.cleanup();
  }
});

Deno.test("control socket: keepalives before a list's answer leave the list as it was", async () => {
  const t = await slowServer(0, { keepaliveMs: 20 });
  const rows = [listed({ sessionId: "a" }), listed({ sessionId: "b", createdAt: T0 + 1 })];
  // The store's first page comes slowly, as a busy Redis would send it.
  t.store.sessionPages = async function* () {
    await delay(200);
    yield rows;
  };
  try {
    const bytes = await rawControlRequest(t.path, '{"command":"sessions.list"}\n');
    assert(bytes.startsWith("  "), `keepalives came first: ${JSON.stringify(bytes.slice(0, 20))}`);
    assertEquals(bytes.trimStart().indexOf(" "), -1, "none inside the answer");
    assertEquals(bytes.endsWith("]}\n"), true);
    const answer = await sendControlRequest(t.path, { command: "sessions.list" });
    assert(answer.ok && "sessions" in answer);
    assertEquals(answer.sessions.map((row) => row.sessionId), ["a", "b"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket client: a service that sends nothing still times out", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-mute-"));
  const path = join(dir, "control.sock");
  const accepted: Array<{ destroy(): void }> = [];
  const mute = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => mute.listen(path, resolve));
  try {
    const started = Date.now();
    await assertRejects(
      () => sendControlRequest(path, revokeAlice, { idleTimeoutMs: 200 }),
      Error,
      `Nothing more came on ${path} for 0.2 s`,
    );
    assert(Date.now() - started >= 190, "gave up only after the idle timeout");
  } finally {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => mute.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("control socket client: giving up closes its connection (the admin command does not hang on it)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-mute-"));
  const path = join(dir, "control.sock");
  const accepted: Array<{ destroy(): void }> = [];
  let clientLeft: () => void = () => {};
  const left = new Promise<void>((resolve) => (clientLeft = resolve));
  const mute = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    // Read (and drop) what comes, so that the client's end is seen.
    socket.resume();
    socket.once("close", () => clientLeft());
  });
  await new Promise<void>((resolve) => mute.listen(path, resolve));
  try {
    await assertRejects(
      () => sendControlRequest(path, revokeAlice, { idleTimeoutMs: 100 }),
      Error,
      "Nothing more came",
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      left.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 500))),
    ]);
    clearTimeout(timer);
    assert(closed, "the service still holds the connection the client gave up");
  } finally {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => mute.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("control socket: stopping the service lets a revoke in progress finish and be answered", async () => {
  const t = await slowServer(500);
  try {
    // Caught at once: an answer cut short must fail this test, not the whole module.
    const answering = sendControlRequest(t.path, revokeAlice).catch((error: Error) => error);
    while (t.revokes.length === 0) await delay(10);
    await t.server.close();
    assertEquals(t.revokedCount(), 1, "close() waited for the revoke");
    assertEquals(await answering, { ok: true, ended: 2, stillConnected: STILL_CONNECTED });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: once stopping, a connection that has not sent its request is refused, not left waiting", async () => {
  const t = await slowServer(500);
  try {
    // Caught at once: an answer cut short must fail this test, not the whole module.
    const answering = sendControlRequest(t.path, revokeAlice).catch((error: Error) => error);
    while (t.revokes.length === 0) await delay(10);
    const idle = await idleControlConnection(t.path);
    await t.server.close();
    await idle.closed;
    assertEquals(JSON.parse(idle.answer()), { ok: false, error: "The service is stopping" });
    assertEquals(await answering, { ok: true, ended: 2, stillConnected: STILL_CONNECTED });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: stopping with only a waiting connection still delivers its refusal", async () => {
  const t = await slowServer(0);
  try {
    const idle = await idleControlConnection(t.path);
    await delay(20);
    await t.server.close();
    await idle.closed;
    assertEquals(JSON.parse(idle.answer()), { ok: false, error: "The service is stopping" });
  } finally {
    await t.cleanup();
  }
});

Deno.test("control socket: close() waits for a request under way at most closeGraceMs, then cuts it", async () => {
  const t = await slowServer(2_000, { closeGraceMs: 200 });
  try {
    const answering = sendControlRequest(t.path, revokeAlice).catch((error: Error) => error);
    while (t.revokes.length === 0) await delay(10);
    const started = Date.now();
    await t.server.close();
    const took = Date.now() - started;
    assert(took >= 190 && took < 1_500, `close() took ${took} ms`);
    const answer = await answering;
    assert(answer instanceof Error, "the answer was cut off");
  } finally {
    await t.cleanup();
    await delay(2_000); // the fake revocation's timer
  }
});
