/**
 * What a session write costs in the file store when many come in one event-loop turn, as after
 * an OpenVPN restart (every client's DISCONNECT unbinds its session) or in a wave of re-checks:
 * 10,000 sessions re-put in groups of 28 per turn (a 64 KB chunk's worth of blocks), CPU per put
 * from `process.cpuUsage`. Runs on Deno and Bun (`bun bench/session_put_cost.ts`).
 *
 *   deno run -A bench/session_put_cost.ts
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../src/sessions/token_cipher.ts";
import { session, T0 } from "../tests/unit/sessions/fixtures.ts";

const SESSIONS = 10_000;
const PER_TURN = 28;
const ROUNDS = 4;

const dir = mkdtempSync(join(tmpdir(), "session-put-cost-"));
try {
  const store = await SqliteStore.open({
    path: join(dir, "sessions.sqlite"),
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 100_000,
    now: () => T0,
  });
  const sessions = Array.from(
    { length: SESSIONS },
    (_, i) => session({ sessionId: `s-${i}`, cid: i }),
  );
  for (const entry of sessions) await store.putSession(entry);
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  for (let round = 1; round <= ROUNDS; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < sessions.length; i += PER_TURN) {
      const turn = sessions.slice(i, i + PER_TURN);
      await Promise.all(
        turn.map((entry) => store.putSession({ ...entry, lastAuthAt: T0 + round })),
      );
    }
    const cpu = process.cpuUsage(before);
    console.log(
      `${runtime} round ${round}/${ROUNDS}: ${
        ((cpu.user + cpu.system) / SESSIONS).toFixed(1)
      } µs ` +
        `CPU per put (system ${(cpu.system / SESSIONS).toFixed(1)})`,
    );
  }
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
