/**
 * WalSizeWatch on its own: when it asks for a checkpoint (size, interval, one at a time), how it
 * reports one that fails, and how long a WAL held by a reader elsewhere goes unwarned. What the checkpoint does to a real session file is in
 * sqlite_wal_limit_test.ts.
 */
import { assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { writeFileSync } from "node:fs";
import { WalSizeWatch, type WalSizeWatchOptions } from "../../../src/sessions/wal_size_watch.ts";
import type { WalProgress } from "../../../src/sessions/wal_checkpoint.ts";

type Watched = ReturnType<typeof watched>;

/**
 * A watch over a WAL file of `dir` that this test sizes, with a checkpoint it settles; a 1000-byte
 * limit, and `options` for the rest (left out: the service's defaults).
 */
function watched(dir: string, options: Omit<WalSizeWatchOptions, "limitBytes">) {
  const dbPath = `${dir}/sessions.db`;
  const asked: {
    resolve: (progress?: WalProgress) => void;
    reject: (error: Error) => void;
  }[] = [];
  const watch = new WalSizeWatch(
    dbPath,
    () => new Promise<WalProgress | void>((resolve, reject) => asked.push({ resolve, reject })),
    { limitBytes: 1000, ...options },
  );
  const walOf = (bytes: number) => writeFileSync(`${dbPath}-wal`, new Uint8Array(bytes));
  return { watch, asked, walOf };
}

/** Runs `test` on a watch in a temporary directory of its own (by default: no waits). */
async function withWatch(
  test: (watched: Watched) => Promise<void> | void,
  options: Omit<WalSizeWatchOptions, "limitBytes"> = { checkEveryMs: 0, heldWarnMs: 0 },
) {
  const dir = await Deno.makeTempDir({ prefix: "wal-watch-test-" });
  try {
    await test(watched(dir, options));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Lets the watch see a settled checkpoint (its handlers run in microtasks). */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("a WAL past the limit asks for one checkpoint at a time; none at or under it", async () => {
  await withWatch(async ({ watch, asked, walOf }) => {
    watch.wrote();
    assertEquals(asked.length, 0, "no WAL file yet");
    walOf(1000);
    watch.wrote();
    assertEquals(asked.length, 0, "at the limit");
    walOf(1001);
    watch.wrote();
    watch.wrote();
    assertEquals(asked.length, 1, "past it, once while that checkpoint runs");
    asked[0]!.resolve();
    await settled();
    watch.wrote();
    assertEquals(asked.length, 2, "still past it after the checkpoint (not cut back yet)");
    asked[1]!.resolve();
    await settled();
    walOf(1000);
    watch.wrote();
    assertEquals(asked.length, 2, "cut back");
  });
});

Deno.test("the WAL's size is read at most once per interval", async () => {
  await withWatch(({ watch, asked, walOf }) => {
    watch.wrote();
    walOf(5000);
    watch.wrote();
    assertEquals(asked.length, 0, "the second write came within the interval of the first");
  }, { checkEveryMs: 60_000, heldWarnMs: 0 });
});

Deno.test("a failing checkpoint is logged as a warning once, then at debug until one succeeds", async () => {
  await withWatch(async ({ watch, asked, walOf }) => {
    walOf(5000);
    const logs = await logsOf(async () => {
      for (const outcome of ["fails", "fails", "succeeds", "fails"]) {
        watch.wrote();
        const checkpoint = asked.at(-1)!;
        if (outcome === "fails") checkpoint.reject(new Error("disk I/O error"));
        else checkpoint.resolve();
        await settled();
      }
    });
    assertEquals(asked.length, 4);
    const failed = (level: string) =>
      `${level}: Cannot keep the session file's WAL under 1000 bytes: ` +
      "checkpoint failed: disk I/O error";
    assertEquals(
      logs.map((line) => `${line.level}: ${line.text}`),
      [
        failed("warning"),
        failed("debug"),
        "info: The session file's WAL is checkpointed again",
        failed("warning"),
      ],
    );
  });
});

Deno.test("checkpoints that leave frames behind (a reader elsewhere) are warned, once, then its end", async () => {
  await withWatch(async ({ watch, asked, walOf }) => {
    walOf(5000);
    const logs = await logsOf(async () => {
      for (const copiedFrames of [3, 3, 10]) {
        watch.wrote();
        asked.at(-1)!.resolve({ walFrames: 10, copiedFrames });
        await settled();
      }
    });
    assertEquals(asked.length, 3);
    const held = (level: string) =>
      `${level}: Cannot keep the session file's WAL under 1000 bytes: checkpoints copied 3 of ` +
      "its 10 frames (5000 bytes) for 0 s: another connection keeps a read transaction open on " +
      "the session file (an sqlite3 shell, a backup tool?); the WAL grows until it ends";
    assertEquals(logs.map((line) => `${line.level}: ${line.text}`), [
      held("warning"),
      held("debug"),
      "info: The session file's WAL is checkpointed again",
    ]);
  });
});

Deno.test("frames left behind for less than the warning's wait (our own reads) log nothing", async () => {
  await withWatch(
    async ({ watch, asked, walOf }) => {
      walOf(5000);
      const logs = await logsOf(async () => {
        for (const progress of [{ walFrames: 10, copiedFrames: 3 }, undefined]) {
          watch.wrote();
          asked.at(-1)!.resolve(progress);
          await settled();
        }
      });
      assertEquals(asked.length, 2);
      assertEquals(logs.map((line) => `${line.level}: ${line.text}`), []);
    },
    { checkEveryMs: 0, heldWarnMs: 60_000 },
  );
});

Deno.test("with the default options, frames left behind for 9 s log nothing, and for 11 s a warning (README: after 10 s)", async () => {
  // The watch times the hold on performance.now(): moved by hand here.
  const realNow = performance.now;
  let now = 0;
  performance.now = () => now;
  try {
    await withWatch(async ({ watch, asked, walOf }) => {
      walOf(5000);
      const heldFor = async (ms: number) => {
        now = ms;
        watch.wrote();
        asked.at(-1)!.resolve({ walFrames: 10, copiedFrames: 3 });
        await settled();
      };
      await heldFor(0);
      assertEquals((await logsOf(() => heldFor(9_000))).map((line) => line.text), []);
      const logs = await logsOf(() => heldFor(11_000));
      assertEquals(logs.map((line) => line.level), ["warning"]);
      assertStringIncludes(
        logs[0]!.text,
        "checkpoints copied 3 of its 10 frames (5000 bytes) for 11 s",
      );
    }, {});
  } finally {
    performance.now = realNow;
  }
});

Deno.test("a WAL limit that is not a whole number of bytes is refused", () => {
  for (const limitBytes of [-1, 1.5, Number.NaN, Infinity]) {
    assertThrows(
      () => new WalSizeWatch("sessions.db", () => Promise.resolve(), { limitBytes }),
      RangeError,
      "Invalid WAL size limit",
    );
  }
});
