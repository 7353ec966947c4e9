/**
 * `check-config --probe` on a session file SQLite refuses ("file is not a database"): another
 * program's file, random bytes, a header cut short or garbled. The probe passed it and the
 * service's start then refused it; now the probe fails it with the start's likely cause, having
 * only read the file's first bytes: the file is left as it was, and no SQLite file made beside it.
 * An empty file, and one of a single byte (SQLite's unix VFS counts it as empty), are made
 * databases by SQLite, and pass. The header tells two more refusals of the start apart: a
 * damaged header after SQLite's magic (the store's own file, to be restored; not another
 * program's), and a schema version newer than this program's.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { type CheckResult, formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { DatabaseSync } from "node:sqlite";
import {
  likelyCause,
  openDatabaseFile,
  SessionFileError,
  SQLITE,
} from "../../../src/sessions/sqlite_file.ts";
import { SCHEMA_VERSION } from "../../../src/sessions/sqlite_schema.ts";

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

const NOT_DATABASES: Record<string, Uint8Array> = {
  "random bytes": crypto.getRandomValues(new Uint8Array(4096)),
  "a header cut short": encoder.encode("SQLite form"),
  "a garbled header": concat(encoder.encode("SQLite format 4\0"), new Uint8Array(4080)),
  "another program's text": encoder.encode("[sessions]\npath = 1\n"),
};

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-header-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function probeStore(dir: string, path: string): Promise<CheckResult> {
  const config = await probedConfig(`backend = "file"\npath = "${path}"`, `${dir}/control.sock`);
  const results = await runProbe(config, listenFree);
  const store = results.find((result) => result.check === "session store");
  assert(store !== undefined, formatResults(results));
  return store;
}

/** How the service's start refuses these bytes: SQLite's own open, on a copy elsewhere. */
async function startRefusal(bytes: Uint8Array): Promise<string | undefined> {
  const elsewhere = await Deno.makeTempDir({ prefix: "probe-header-start-" });
  try {
    await Deno.writeFile(`${elsewhere}/sessions.sqlite`, bytes);
    openDatabaseFile(`${elsewhere}/sessions.sqlite`).close();
    return undefined;
  } catch (error) {
    assert(error instanceof SessionFileError, String(error));
    return error.advice(error.file);
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
}

for (const [name, bytes] of Object.entries(NOT_DATABASES)) {
  Deno.test(`runProbe() fails a session file of ${name} with the start's likely cause, and leaves it as it was`, () =>
    withDir(async (dir) => {
      const path = `${dir}/sessions.sqlite`;
      await Deno.writeFile(path, bytes);
      // Its lock file is there too: the probe must not take the lock for a file it fails.
      await Deno.writeFile(`${path}.lock`, new Uint8Array());

      const store = await probeStore(dir, path);
      assertEquals(store.ok, false, `the probe passed ${name}: ${store.detail}`);
      assert(
        store.detail.startsWith(`sessions.path ${path}: file is not a database`),
        store.detail,
      );
      const cause = await startRefusal(bytes);
      assert(cause !== undefined, `the service's start took ${name} for a database`);
      assertEquals(store.fix, `${cause.charAt(0).toUpperCase()}${cause.slice(1)}.`);

      assertEquals(await Deno.readFile(path), bytes, "the probe changed the file");
      assertEquals(
        [...Deno.readDirSync(dir)].map((entry) => entry.name).sort(),
        ["sessions.sqlite", "sessions.sqlite.lock"],
        "the probe made files beside the session file",
      );
    }));
}

Deno.test("runProbe() passes an empty session file, and one of a single byte: SQLite makes a database of each", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    for (const bytes of [new Uint8Array(), encoder.encode("x")]) {
      await Deno.writeFile(path, bytes);
      const store = await probeStore(dir, path);
      assertEquals(store.ok, true, `${bytes.length} bytes: ${store.detail}`);
      assertEquals(await startRefusal(bytes), undefined, `${bytes.length} bytes refused`);
    }
  }));

/** A session file as the service makes it, then `change`d through SQLite. */
async function sessionFile(path: string, change = ""): Promise<Uint8Array> {
  openDatabaseFile(path).close();
  const db = new DatabaseSync(path);
  db.exec(change);
  // The last connection's close checkpoints: the header in the file holds the change.
  db.close();
  return await Deno.readFile(path);
}

Deno.test("runProbe() passes a session file of this program's schema", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    await sessionFile(path);
    const store = await probeStore(dir, path);
    assertEquals(store.ok, true, store.detail);
  }));

Deno.test("runProbe() fails a session file of a newer schema as the start does", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    const bytes = await sessionFile(path, `PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    const store = await probeStore(dir, path);
    // Before: ok ("this user can create files in ...").
    assertEquals(store.ok, false, store.detail);
    let started: unknown;
    try {
      openDatabaseFile(path).close();
    } catch (error) {
      started = error;
    }
    const refusal = `Session store schema is newer than this program: ${path} has version ` +
      `${SCHEMA_VERSION + 1}, this program knows up to ${SCHEMA_VERSION}`;
    assert(String(started).includes(refusal), `the start: ${started}`);
    assert(store.detail.startsWith(`sessions.path ${path}: ${refusal}`), store.detail);
    assertEquals(await Deno.readFile(path), bytes, "the probe changed the file");
  }));

Deno.test("runProbe() fails a session file whose header is damaged after SQLite's magic as damaged, as the start does", () =>
  withDir(async (dir) => {
    const path = `${dir}/sessions.sqlite`;
    const bytes = await sessionFile(path);
    // The payload fractions (64, 32, 32): SQLite refuses the file as no database.
    bytes.fill(0, 21, 24);
    await Deno.writeFile(path, bytes);
    const damaged = likelyCause(SQLITE.CORRUPT, dir);
    // Before: "sessions.path names another program's file" from both.
    assertEquals(await startRefusal(bytes), damaged);
    const store = await probeStore(dir, path);
    assertEquals(store.ok, false, store.detail);
    assert(store.detail.startsWith(`sessions.path ${path}: file is not a database`), store.detail);
    assertEquals(store.fix, `${damaged.charAt(0).toUpperCase()}${damaged.slice(1)}.`);
  }));
