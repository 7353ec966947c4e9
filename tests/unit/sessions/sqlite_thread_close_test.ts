/**
 * A store's close() ends its workers (sqlite_thread.ts), also one stuck in a request that never
 * answers: otherwise each closed store would leave a thread running for the rest of the process.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { SqliteThread } from "../../../src/sessions/sqlite_thread.ts";

const heartbeatWorker = new URL("./_heartbeat_worker.js", import.meta.url);

function beatsIn(path: string): number {
  try {
    return Deno.readTextFileSync(path).length;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("close() ends a worker that never answers once its wait is over", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite-thread-close-" });
  const beats = `${dir}/beats`;
  const url = new URL(heartbeatWorker);
  url.searchParams.set("beats", beats);
  const thread = new SqliteThread("test worker", { url: url.href, closeWaitMs: 20 });
  try {
    // Never answered: the worker is stuck in it.
    void thread.ask({ op: "checkpoint", path: `${dir}/unused.db`, busyTimeoutMs: 1 });
    for (let waited = 0; beatsIn(beats) === 0 && waited < 20_000; waited += 10) await sleep(10);
    assert(beatsIn(beats) > 0, "the worker started");
    await thread.close();
    await sleep(20); // a beat written as it was ended
    const atClose = beatsIn(beats);
    await sleep(60);
    assertEquals(beatsIn(beats), atClose, "the worker still ran after close()");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
