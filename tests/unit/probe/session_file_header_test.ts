/**
 * `check-config --probe` on a session file SQLite refuses ("file is not a database"): another
 * program's file, random bytes, a header cut short or garbled. The probe passed it and the
 * service's start then refused it; now the probe fails it with the start's likely cause, having
 * only read the file's first bytes: the file is left as it was, and no SQLite file made beside it.
 * An empty file, and one of a single byte (SQLite's unix VFS counts it as empty), are made
 * databases by SQLite, and pass.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { listenFree, probedConfig } from "../../support/probed_config.ts";
import { type CheckResult, formatResults } from "../../../src/probe/checks.ts";
import { runProbe } from "../../../src/probe/probe.ts";
import { openDatabaseFile, SessionFileError } from "../../../src/sessions/sqlite_file.ts";

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
