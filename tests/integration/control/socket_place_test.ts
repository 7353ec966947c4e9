/**
 * A control socket the service cannot create stops its start with an error that names
 * `control.socket` and what to do, not the runtime's bare "EACCES: permission denied, mkdir".
 * Run as root in CI, where every directory is writable: the directory cannot be made because a
 * regular file is where it would go (which fails for root too).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertMatch, assertRejects } from "../../support/assert.ts";
import { startControlServer } from "../../../src/control/server.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";

Deno.test("control socket: a directory it cannot create stops the start naming control.socket and the fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "control-place-"));
  try {
    const file = join(dir, "not-a-directory");
    writeFileSync(file, "");
    const path = join(file, "run", "control.sock");
    const error = await assertRejects(() =>
      startControlServer(path, {
        store: new MemoryStore({ maxEntries: 10, now: Date.now }),
        revocation: { revoke: () => Promise.reject(new Error("unused")) },
        now: Date.now,
        log: getLogger("test"),
      }), Error);
    assertMatch(
      error.message,
      new RegExp(
        `^Control socket directory ${file}/run cannot be created \\(control\\.socket = ` +
          `"${path}"\\): .*: make its directory one the service user can write \\(systemd: ` +
          `RuntimeDirectory=\\), or set control\\.socket to a path in one \\("" turns the ` +
          `socket off\\)$`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
