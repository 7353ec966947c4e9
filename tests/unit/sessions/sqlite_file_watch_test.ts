/**
 * A session file removed or replaced under the running service (sqlite_file_watch.ts): the
 * sweep says so, once, naming the file; the store's workers do not make a new file at the path
 * (one was made, empty and mode 0644, and the store went on writing the removed one: at the
 * next start every session was gone, and nothing had been logged). The owner lock file alike.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { assert, assertEquals } from "../../support/assert.ts";
import { type CapturedLine, captureLogs } from "../../support/log_capture.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { session, T0 } from "./fixtures.ts";

const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));

/** A store of the service's own (owner lock taken) on a file in a new directory. */
async function withStore(
  run: (store: SqliteStore, path: string, logs: CapturedLine[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "file-watch-test-" });
  const path = `${dir}/sessions.sqlite`;
  const capture = captureLogs();
  const store = await SqliteStore.open({
    path,
    cipher,
    maxEntries: 100,
    now: () => T0,
    owner: true,
  });
  try {
    await store.putSession(session({ sessionId: "s-1" }));
    await run(store, path, capture.lines);
  } finally {
    await store.close();
    capture.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function errors(lines: CapturedLine[]): string[] {
  return lines.filter((line) => line.level === "error").map((line) => line.text);
}

Deno.test("a session file removed while the store runs: one error at the sweep, and no empty file made in its place", () =>
  withStore(async (store, path, logs) => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix);
    // The live count's worker opens the file at its first count, the checkpoint's at the
    // first sweep: neither may create it.
    assertEquals((await store.countLive("vpn1")).sessions, 1, "counted here instead");
    await store.sweep(T0);
    await store.sweep(T0);
    assertEquals(existsSync(path), false, "a file was made at the path");
    const told = errors(logs);
    assertEquals(told.length, 1, told.join("\n"));
    assertEquals(
      told[0],
      `Session file ${path} was removed or replaced while the service runs: the service ` +
        "still writes the file it opened, which is lost when it stops, and every session " +
        "written from now on with it; restore the file, or restart the service (removed)",
    );
    assert(
      logs.some((line) => line.level === "debug" && line.text.startsWith("Session file ")),
      "the second sweep's finding at debug",
    );
    // The store still answers, from the file it has open.
    assertEquals((await store.getSession("s-1"))?.sessionId, "s-1");
  }));

Deno.test("a session file replaced while the store runs is told as replaced, and no worker reads the other file", () =>
  withStore(async (store, path, logs) => {
    renameSync(path, `${path}.moved`);
    writeFileSync(path, "");
    assertEquals((await store.countLive("vpn1")).sessions, 1, "counted in the store's own file");
    await store.sweep(T0);
    const told = errors(logs);
    assertEquals(told.length, 1, told.join("\n"));
    assert(told[0]!.endsWith("(replaced)"), told[0]);
    assertEquals(Deno.statSync(path).size, 0, "the other file was written");
  }));

Deno.test("an owner lock file removed while the store runs: one error at the sweep, naming it", () =>
  withStore(async (store, path, logs) => {
    rmSync(`${path}.lock`);
    await store.sweep(T0);
    await store.sweep(T0);
    const told = errors(logs);
    assertEquals(told.length, 1, told.join("\n"));
    assert(
      told[0]!.startsWith(
        `Lock file ${path}.lock was removed or replaced while the service runs: the service ` +
          `no longer keeps others off ${path}, and a second service can start on it`,
      ),
      told[0],
    );
  }));

Deno.test("a sweep with the files in place tells nothing", () =>
  withStore(async (store, _path, logs) => {
    await store.sweep(T0);
    assertEquals(errors(logs), []);
  }));
