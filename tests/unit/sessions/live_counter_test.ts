/**
 * The file store's live counts run on a worker thread (a count walks all of a server's index
 * entries: ~110 ms of blocked event loop per metrics scrape with 1,000,000 sessions). When the
 * worker fails or stays silent, the count runs here after all and says so; once the store
 * closes, nothing is counted anywhere.
 */
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { turnsDuring } from "../../support/turns.ts";
import { LiveCounter } from "../../../src/sessions/live_counter.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { LiveCounts } from "../../../src/sessions/types.ts";
import { MINUTE, pendingLogin, session, T0 } from "./fixtures.ts";

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;
const countingWorker = new URL("../../support/counting_worker.ts", import.meta.url).href;
const failingWorker = new URL("../../support/failing_worker.js", import.meta.url).href;
const reversingWorker = new URL("../../support/reversing_worker.ts", import.meta.url).href;

/** A session file with, for server vpn1 at T0: 2 live sessions, 1 expired, 1 live pending login. */
async function filledFile(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "live-count-test-" });
  const path = `${dir}/sessions.db`;
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({ path, cipher, maxEntries: 100, now: () => T0 - MINUTE });
  try {
    await store.putSession(session({ sessionId: "a", cid: 1 }));
    await store.putSession(session({ sessionId: "b", cid: undefined }));
    await store.putSession(session({ sessionId: "old", cid: 2, expiresAt: T0 - 1 }));
    await store.putSession(session({ sessionId: "other", server: "vpn2" }));
    await store.putPending(pendingLogin({ id: "p1" }));
  } finally {
    await store.close();
  }
  return { path, dir };
}

const EXPECTED: LiveCounts = { sessions: 2, pending: 1 };

/**
 * How long a count waits for a worker that answers or fails: its answer is the event the test
 * waits for, not a count's default wait (4 s of wall time). `deno test` type-checks a TypeScript
 * worker as it starts; after a source change, on a loaded machine, that took longer than 4 s and
 * the counts fell back to this thread.
 */
const FOR_THE_WORKER_MS = 60_000;

/** The counts this thread would give, counted: tells whether the fallback ran. */
function countedHere() {
  const calls: string[] = [];
  return { calls, countHere: (server: string) => (calls.push(server), EXPECTED) };
}

/**
 * A counter over no file, on the test worker `workerUrl`; a count waits FOR_THE_WORKER_MS unless
 * told otherwise, closing 50 ms at most.
 */
function counterOn(
  workerUrl: string,
  countHere: (server: string) => LiveCounts,
  countWaitMs = FOR_THE_WORKER_MS,
): LiveCounter {
  return new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, countHere, {
    workerUrl,
    countWaitMs,
    closeWaitMs: 50,
  });
}

/** Runs `body` with counterOn(`workerUrl`) over countedHere(), and closes the counter after. */
async function withCounter(
  workerUrl: string,
  countWaitMs: number | undefined,
  body: (counter: LiveCounter, here: ReturnType<typeof countedHere>) => Promise<void>,
): Promise<void> {
  const here = countedHere();
  const counter = counterOn(workerUrl, here.countHere, countWaitMs);
  try {
    await body(counter, here);
  } finally {
    await counter.close();
  }
}

Deno.test("live counts come from the worker thread, with the store's rule for live", async () => {
  const { path, dir } = await filledFile();
  const here = countedHere();
  const counter = new LiveCounter({ path, busyTimeoutMs: 100 }, here.countHere, {
    countWaitMs: FOR_THE_WORKER_MS,
  });
  try {
    const logs = await logsOf(async () => {
      assertEquals(await counter.count("vpn1", T0), EXPECTED);
      assertEquals(await counter.count("vpn2", T0), { sessions: 1, pending: 0 });
      assertEquals(await counter.count("vpn1", T0 + 9 * 60 * MINUTE), { sessions: 0, pending: 0 });
    });
    assertEquals(here.calls, [], "nothing counted on the event loop");
    assertEquals(logs.filter((line) => line.level !== "debug"), []);
  } finally {
    await counter.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("counts asked together are each answered with their own server's counts", async () => {
  const { path, dir } = await filledFile();
  const counter = new LiveCounter({ path, busyTimeoutMs: 100 }, () => {
    throw new Error("counted here");
  }, { countWaitMs: FOR_THE_WORKER_MS });
  try {
    const counts = await Promise.all(
      ["vpn1", "vpn2", "vpn1", "vpn3"].map((s) => counter.count(s, T0)),
    );
    assertEquals(counts, [EXPECTED, { sessions: 1, pending: 0 }, EXPECTED, {
      sessions: 0,
      pending: 0,
    }]);
  } finally {
    await counter.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("answers that come back in another order still go to the count that asked", async () => {
  await withCounter(reversingWorker, undefined, async (counter, here) => {
    const counts = await Promise.all(["vpn1", "vpn2", "vpn3"].map((s) => counter.count(s, T0)));
    assertEquals(counts.map((c) => c.sessions), [1, 2, 3]);
    assertEquals(here.calls, []);
  });
});

Deno.test("a worker that fails: the count runs here after all, and a warning names why", async () => {
  await withCounter(failingWorker, undefined, async (counter, here) => {
    const logs = await logsOf(async () => assertEquals(await counter.count("vpn1", T0), EXPECTED));
    assertEquals(here.calls, ["vpn1"]);
    const warnings = logs.filter((line) => line.level === "warning");
    assertEquals(warnings.length, 1);
    assertMatch(
      warnings[0]!.text,
      /^Live count not done on its worker \(live count worker failed: .*this worker fails as it loads.*\); counted on the event loop instead$/s,
    );
  });
});

Deno.test("a worker that never answers: the count runs here after the wait", async () => {
  await withCounter(silentWorker, 50, async (counter, here) => {
    const logs = await logsOf(async () => assertEquals(await counter.count("vpn1", T0), EXPECTED));
    assertEquals(here.calls, ["vpn1"]);
    assertMatch(logs.map((line) => line.text).join("\n"), /no answer within 0.05 s/);
  });
});

Deno.test("once a count is overdue, later ones are done on the event loop without waiting", async () => {
  await withCounter(silentWorker, 50, async (counter, here) => {
    let turnsAgain = 0;
    const logs = await logsOf(async () => {
      assertEquals(await counter.count("vpn1", T0), EXPECTED);
      const { result, turns } = await turnsDuring(() => counter.count("vpn1", T0));
      assertEquals(result, EXPECTED);
      turnsAgain = turns;
    });
    // Checked outside logsOf, so that a failure shows what the counter logged.
    assertEquals(
      turnsAgain,
      0,
      `no wait for the stuck worker again; logged:\n${logs.map((l) => l.text).join("\n")}`,
    );
    assertEquals(here.calls, ["vpn1", "vpn1"]);
    assertMatch(logs.map((line) => line.text).join("\n"), /still busy with an earlier count/);
  });
});

Deno.test("close() rejects a count still waiting for the worker and every later one, counting nothing", async () => {
  const here = countedHere();
  const counter = counterOn(silentWorker, here.countHere, 60_000);
  const waiting = counter.count("vpn1", T0).then(() => "counted", (error) => String(error));
  await counter.close();
  assertMatch(await waiting, /Session store is closed/);
  await assertRejects(() => counter.count("vpn1", T0), Error, "Session store is closed");
  assertEquals(here.calls, []);
});

Deno.test("a count asked while one of the same server is on the worker joins it", async () => {
  const counter = counterOn(countingWorker, () => {
    throw new Error("counted here");
  });
  try {
    const together = await Promise.all([
      counter.count("vpn1", T0),
      counter.count("vpn1", T0),
      counter.count("vpn2", T0),
    ]);
    // The worker answers with how many requests it had: vpn1's two callers sent one.
    assertEquals(together.map((counts) => counts.sessions), [1, 1, 2]);
    assertEquals((await counter.count("vpn1", T0)).sessions, 3, "asked again once answered");
  } finally {
    await counter.close();
  }
});

/**
 * How many workers wrote their start to `path`, once that number has held for 200 ms. A count
 * falls back at its own timeout, which on a loaded machine can come before the worker's module
 * has even loaded (Deno type-checks it first): the start is then written later, not never.
 */
async function startsSettled(path: string): Promise<number> {
  const read = () => {
    try {
      return Deno.readTextFileSync(path).split("\n").filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  let last = read();
  for (let heldMs = 0, waitedMs = 0; waitedMs < 20_000; waitedMs += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = read();
    heldMs = now === last && now > 0 ? heldMs + 50 : 0;
    last = now;
    if (heldMs >= 200) break;
  }
  return last;
}

Deno.test("a worker that failed is not started again before the restart delay has passed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "live-count-starts-" });
  const starts = `${dir}/starts`;
  const workerUrl = new URL(failingWorker);
  workerUrl.searchParams.set("starts", starts);
  const here = countedHere();
  // Each count waits for the worker's failure (FOR_THE_WORKER_MS), and the delay has a clock of
  // its own (real time jumped past it between two counts).
  let nowMs = 0;
  const counter = new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, here.countHere, {
    workerUrl: workerUrl.href,
    countWaitMs: FOR_THE_WORKER_MS,
    closeWaitMs: 50,
    restartDelayMs: 300,
    restartClock: () => nowMs,
  });
  try {
    const logs = await logsOf(async () => {
      for (let i = 0; i < 3; i++) {
        assertEquals(await counter.count("vpn1", T0), EXPECTED);
        nowMs += 99;
      }
      assertEquals(await startsSettled(starts), 1, "one worker started for three counts");
      nowMs = 300;
      assertEquals(await counter.count("vpn1", T0), EXPECTED);
      assertEquals(await startsSettled(starts), 2, "another one once the delay has passed");
    });
    assertEquals(here.calls, ["vpn1", "vpn1", "vpn1", "vpn1"]);
    const reasons = logs.filter((line) => line.text.startsWith("Live count not done"))
      .map((line) => line.text);
    assertMatch(
      reasons[1]!,
      /live count worker failed: .*this worker fails as it loads.*\(not started again for 1 s\)/s,
    );
  } finally {
    await counter.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker that keeps failing is warned about once a minute, the counts in between at debug", async () => {
  await withCounter(failingWorker, 5_000, async (counter, here) => {
    const logs = await logsOf(async () => {
      for (let i = 0; i < 3; i++) assertEquals(await counter.count("vpn1", T0), EXPECTED);
    });
    assertEquals(here.calls, ["vpn1", "vpn1", "vpn1"]);
    const fallbacks = logs.filter((line) => line.text.startsWith("Live count not done"));
    assertEquals(fallbacks.map((line) => line.level), ["warning", "debug", "debug"]);
  });
});
