/**
 * Run by stored_strings_test.ts under Bun, the runtime the released binary is built with:
 * JavaScriptCore keeps a Map key that is a slice alive with the string it was cut from (V8
 * copies or internalizes a key, so this cannot show on Deno). Stores SESSIONS sessions, reads
 * each through a second store with a cold cache, asking with an id sliced out of a 1 MiB chunk
 * of its own as a REAUTH block would give it, and prints the heap growth of those reads per
 * store as JSON.
 *
 *   bun tests/stress/_kept_reads_child.ts SQLITE_PATH REDIS_URL
 */
import process from "node:process";
import { connectRedis } from "../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../src/sessions/token_cipher.ts";
import type { SessionStore } from "../../src/sessions/types.ts";
import { testSession } from "../support/client_events_fixture.ts";
import { redisSettings } from "../support/redis_settings.ts";
import { settledHeap } from "../support/settled_heap.ts";
import { openFileStore } from "./_fixtures.ts";

const SESSIONS = 50;
const CHUNK_CHARS = 1 << 20;
const T0 = 1_800_000_000_000;

/** Session `i`'s id. */
function sessionIdOf(i: number): string {
  return `chunk-session-${String(i).padStart(4, "0")}`;
}

/** Session `i`'s id as a slice of a chunk nobody else keeps. */
function idInChunk(i: number): string {
  const chunk = `>CLIENT:ENV,session_id=${sessionIdOf(i)}\n${"x".repeat(CHUNK_CHARS)}${i}`;
  const start = chunk.indexOf("=") + 1;
  return chunk.slice(start, chunk.indexOf("\n"));
}

/** Heap growth while `reader` (cold) reads what `writer` stored, asked with sliced ids. */
async function heapKeptByReads(writer: SessionStore, reader: SessionStore): Promise<number> {
  for (let i = 0; i < SESSIONS; i++) {
    await writer.putSession(testSession({
      sessionId: sessionIdOf(i),
      // Bound to a client: the Redis store remembers only what it read for a bound session.
      cid: i,
      createdAt: T0,
      lastAuthAt: T0,
      expiresAt: T0 + 3_600_000,
    }));
  }
  const idle = await settledHeap();
  for (let i = 0; i < SESSIONS; i++) {
    const read = await reader.getSession(idInChunk(i));
    if (read?.cid !== i) throw new Error(`session ${i} read back wrong: ${JSON.stringify(read)}`);
  }
  return (await settledHeap()) - idle;
}

async function main(sqlitePath: string, redisUrl: string): Promise<void> {
  if (!("Bun" in globalThis)) throw new Error("Run this under Bun: on Deno it cannot fail");
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const openFile = () => openFileStore(sqlitePath, SESSIONS, () => T0);
  // The reader opens first, so its warm-up finds nothing to cache.
  const fileReader = await openFile();
  const fileWriter = await openFile();
  const file = await heapKeptByReads(fileWriter, fileReader);
  await fileWriter.close();
  await fileReader.close();

  const settings = redisSettings(redisUrl, "strings:", { storeTimeoutMs: 2_000 });
  const openRedis = async () =>
    RedisStore.open({
      client: await connectRedis(settings),
      keyPrefix: settings.keyPrefix,
      cipher,
      maxEntries: SESSIONS,
      now: () => T0,
      description: redisUrl,
    });
  const redisWriter = await openRedis();
  const redisReader = await openRedis();
  const redis = await heapKeptByReads(redisWriter, redisReader);
  await redisWriter.close();
  await redisReader.close();
  process.stdout.write(`${JSON.stringify({ file, redis })}\n`);
}

await main(process.argv[2] ?? "", process.argv[3] ?? "");
