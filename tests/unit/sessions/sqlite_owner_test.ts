/**
 * One service per session file: the service's store holds an OS lock on `<path>.lock` while it
 * is open, and a second service's store (in this process or another, on Deno or Bun) is refused
 * with a message that says what to do. Stores opened without `owner` (tests, tools) are not.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { runUnderBun } from "../../support/bun_child.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { session, T0 } from "./fixtures.ts";

async function withDir(run: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "owner-test-" });
  try {
    await run(`${dir}/sessions.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
const open = (path: string, owner: boolean) =>
  SqliteStore.open({ path, cipher, maxEntries: 100, now: () => T0, owner });

Deno.test("a second service's store on the same file is refused, until the first closes", () =>
  withDir(async (path) => {
    const first = await open(path, true);
    await first.putSession(session());
    const refused = await assertRejects(() => open(path, true), Error);
    assertEquals(
      refused.message,
      `Session file ${path} is in use by another openvpn-auth-oidc process (it holds ` +
        `${path}.lock): give each service its own sessions.path`,
    );
    // A tool's store, not a service's, may read it meanwhile.
    const reader = await open(path, false);
    assertEquals((await reader.getSession("sess-1"))?.sessionId, "sess-1");
    await reader.close();
    await first.close();
    const next = await open(path, true);
    assertEquals((await next.getSession("sess-1"))?.sessionId, "sess-1");
    await next.close();
  }));

Deno.test("a service's store creates a missing parent directory, as a tool's does", () =>
  withDir(async (path) => {
    const nested = path.replace("sessions.sqlite", "state/deeper/sessions.sqlite");
    const store = await open(nested, true);
    await store.putSession(session());
    await store.close();
    assertEquals((await Deno.stat(nested)).mode! & 0o777, 0o600);
    assertEquals(
      (await Deno.stat(nested.replace("/deeper/sessions.sqlite", ""))).mode! & 0o777,
      0o700,
    );
  }));

Deno.test("another process (on Bun) is refused the lock while the store holds it, and gets it after", () =>
  withDir(async (path) => {
    const child = new URL("./_owner_lock_child.ts", import.meta.url);
    const store = await open(path, true);
    const refused = await runUnderBun(child, [path]) as { locked: boolean; message?: string };
    assertEquals(refused.locked, false);
    assert(refused.message?.includes("in use by another openvpn-auth-oidc process"));
    await store.close();
    assertEquals(await runUnderBun(child, [path]), { locked: true });
  }));

Deno.test("a second store refused in this process leaves the lock held against other processes", () =>
  withDir(async (path) => {
    const child = new URL("./_owner_lock_child.ts", import.meta.url);
    const store = await open(path, true);
    await assertRejects(() => open(path, true), Error, "in use by another openvpn-auth-oidc");
    // Closing any descriptor of the lock file drops this process's POSIX lock on it.
    const other = await runUnderBun(child, [path]) as { locked: boolean };
    assertEquals(other.locked, false, "another process took the lock the store still holds");
    await store.close();
  }));
