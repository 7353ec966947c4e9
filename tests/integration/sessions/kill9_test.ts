import { assert, assertEquals } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { Secret } from "../../../src/config/secret.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

const WRITER = new URL("./kill9_writer.ts", import.meta.url).pathname;
const KILL_AFTER_ACKS = 300;
const HTTP_SECRET = "kill9 test http secret";

Deno.test("SqliteStore keeps every acknowledged session and pending login when its process is killed with -9", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessions-kill9-" });
  const path = `${dir}/sessions.db`;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", WRITER, path, HTTP_SECRET],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    const acked: string[] = [];
    const ackedPending: string[] = [];
    let pending = "";
    let killed = false;
    let finished = false;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ack ")) acked.push(line.slice(4));
        if (line.startsWith("ack-pending ")) ackedPending.push(line.slice(12));
        if (line === "done") finished = true;
      }
      if (!killed && acked.length >= KILL_AFTER_ACKS) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL");
    assert(acked.length >= KILL_AFTER_ACKS);
    assert(!finished, `the kill came after the writes (${acked.length} acks)`);

    const raw = new DatabaseSync(path);
    try {
      assertEquals(raw.prepare("PRAGMA integrity_check").get()?.["integrity_check"], "ok");
    } finally {
      raw.close();
    }
    const store = await SqliteStore.open({
      path,
      cipher: await TokenCipher.deriveFrom(new Secret(HTTP_SECRET)),
      maxEntries: 10_000,
    });
    try {
      const missing: string[] = [];
      for (const sessionId of acked) {
        const session = await store.getSession(sessionId);
        if (session?.refreshToken !== sessionId.replace("session-", "refresh-")) {
          missing.push(sessionId);
        }
      }
      assertEquals(missing, [], "acknowledged sessions lost or damaged");
      assert((await collectPages(store.sessionPages())).length >= acked.length);
      assert(ackedPending.length >= KILL_AFTER_ACKS);
      const lostLogins: string[] = [];
      for (const id of ackedPending) {
        if ((await store.getPending(id))?.id !== id) lostLogins.push(id);
      }
      assertEquals(lostLogins, [], "acknowledged pending logins lost");
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
