/**
 * A session's end as its log line says it, through the real sink: what became of its client is
 * the sentence's words, and a session no client held says so, not with a placeholder cid that a
 * value could read the same as. JSON keeps `killed` and `cid` as fields.
 */
import { assertEquals } from "../../support/assert.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { testSession } from "../../support/client_events_fixture.ts";
import { recordingSessionEnd } from "../../support/session_end_fixture.ts";
import { configureLogging } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";

/** The session lines of an administrator's revoke of s-1 (bound to cid 4) and s-2 (no client). */
async function revokeLines(format: "text" | "json"): Promise<string[]> {
  const store = new MemoryStore({ maxEntries: 10, now: Date.now });
  await store.putSession(testSession({ expiresAt: Date.now() + 3_600_000 }));
  await store.putSession(
    testSession({ sessionId: "s-2", cid: undefined, expiresAt: Date.now() + 3_600_000 }),
  );
  const { end } = recordingSessionEnd(store);
  configureLogging("info", format);
  const stderr = captureStderr();
  try {
    await end.endAll(["s-1", "s-2"], "admin-revoke");
  } finally {
    stderr.restore();
    configureLogging("warning", "text");
  }
  return stderr.lines().filter((line) => line.includes("Session of"));
}

Deno.test("a session's end says in words what became of its client, or that none was connected", async () => {
  const lines = await revokeLines("text");
  assertEquals(lines.map((line) => line.replace(/^.*?test: /, "")), [
    'Session of "alice" (subject "u-1", cid 4) ended, its client disconnected; an ' +
    "administrator revoked it",
    'Session of "alice" (subject "u-1") ended with no client connected; an administrator ' +
    "revoked it",
  ]);
  const records = (await revokeLines("json")).map((line) => JSON.parse(line).properties);
  assertEquals(records.map(({ cid, killed }) => [cid, killed]), [[4, true], [undefined, false]]);
});
