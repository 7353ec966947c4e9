/**
 * What one login's store operations cost, file store against memory store, each operation in an
 * event-loop turn of its own as at B3's concurrency 1: the CONNECT's put of the pending login,
 * the login page's read, the confirm step's update with the OAuth values, the callback's take,
 * and the new session's put (refresh token, sid, subject and user name of its own). B3 cannot
 * tell the store's part of a login apart from the noise of four processes on two cores; here
 * the store runs alone. CPU from `process.cpuUsage`: per login over a pass of LOGINS logins,
 * then per operation over another pass, where each figure includes the two `cpuUsage` calls
 * around it (compare the stores' figures, not a figure with zero). Runs on Deno and Bun
 * (`bun bench/login_store_cost.ts`).
 *
 *   deno run -A bench/login_store_cost.ts [LOGINS]
 */
import process from "node:process";
import { setImmediate } from "node:timers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../src/sessions/memory_store.ts";
import { SqliteStore } from "../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../src/sessions/token_cipher.ts";
import type { SessionStore } from "../src/sessions/types.ts";
import { randomToken } from "../src/random_token.ts";
import { pendingLogin, session, T0 } from "../tests/unit/sessions/fixtures.ts";

const LOGINS = Number(process.argv[2] ?? 2000);
/** Logins before the measured ones: V8 optimises the code, the file's tables get some rows. */
const WARM_UP = 300;
const OPERATIONS = ["put pending", "read", "update", "take", "put session"] as const;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** CPU µs per operation (OPERATIONS' order) and per login, over `LOGINS` logins. */
async function measure(store: SessionStore): Promise<{ perOperation: number[]; perLogin: number }> {
  const spent = OPERATIONS.map(() => 0);
  let timing = false;
  const timed = async (index: number, operation: () => Promise<unknown>) => {
    if (!timing) {
      await operation();
      await nextTurn();
      return;
    }
    const before = process.cpuUsage();
    await operation();
    await nextTurn();
    const cpu = process.cpuUsage(before);
    spent[index]! += cpu.user + cpu.system;
  };
  const login = async (i: number) => {
    // Time-ordered ids, as the bridge's (login_url.ts), and a random session id.
    const id = `${String(i).padStart(8, "0")}${randomToken(16)}`;
    const pending = pendingLogin({ id, cid: i, sessionId: randomToken(16), oauth: undefined });
    const oauth = {
      state: randomToken(16),
      nonce: randomToken(16),
      codeVerifier: randomToken(32),
      browserBinding: randomToken(16),
    };
    await timed(0, () => store.putPending(pending));
    await timed(1, () => store.getPending(id));
    await timed(2, () => store.updatePending({ ...pending, oauth }));
    await timed(3, () => store.takePending(id));
    const entry = session({
      sessionId: pending.sessionId,
      cid: i,
      sid: randomToken(16),
      subject: `subject-${i}`,
      username: `user-${i}`,
    });
    await timed(4, () => store.putSession(entry));
  };
  let next = 0;
  while (next < WARM_UP) await login(next++);
  const before = process.cpuUsage();
  while (next < WARM_UP + LOGINS) await login(next++);
  const cpu = process.cpuUsage(before);
  timing = true;
  while (next < WARM_UP + 2 * LOGINS) await login(next++);
  return {
    perOperation: spent.map((us) => us / LOGINS),
    perLogin: (cpu.user + cpu.system) / LOGINS,
  };
}

const dir = mkdtempSync(join(tmpdir(), "login-store-cost-"));
try {
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  const stores: Array<[string, () => Promise<SessionStore>]> = [
    ["memory", () => Promise.resolve(new MemoryStore({ maxEntries: 100_000, now: () => T0 }))],
    ["file", async () =>
      await SqliteStore.open({
        path: join(dir, "sessions.sqlite"),
        cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
        maxEntries: 100_000,
        now: () => T0,
      })],
  ];
  for (const [name, open] of stores) {
    const store = await open();
    const { perOperation, perLogin } = await measure(store);
    await store.close();
    const parts = OPERATIONS.map((op, i) => `${op} ${perOperation[i]!.toFixed(1)}`).join(", ");
    console.log(`${runtime} ${name}: ${perLogin.toFixed(1)} µs CPU per login (${parts})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
