import { assertEquals } from "../../support/assert.ts";
import { parseRedisInfo } from "../../../src/sessions/redis_info.ts";
import { persistenceRisk } from "../../../src/sessions/redis_persistence.ts";

/** INFO as redis-server 7.0 answers it, cut to a few lines of each section the store reads. */
function info(aofEnabled: string): string {
  return "# Memory\r\nused_memory:989552\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\r\n" +
    "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:3\r\n" +
    `aof_enabled:${aofEnabled}\r\naof_rewrite_in_progress:0\r\n\r\n# Stats\r\n`;
}

Deno.test("persistenceRisk() names the revocations a crash brings back when Redis keeps no append-only file", () => {
  assertEquals(
    persistenceRisk(parseRedisInfo(info("0"))),
    "Redis keeps no append-only file (appendonly no): after a crash it loads its last RDB " +
      "snapshot, if any, and sessions revoked or logged out since then are back, their clients " +
      "reconnecting without a browser",
  );
});

Deno.test("persistenceRisk() is quiet with an append-only file, and when INFO did not tell", () => {
  assertEquals(persistenceRisk(parseRedisInfo(info("1"))), undefined);
  assertEquals(persistenceRisk(parseRedisInfo("# Memory\r\nmaxmemory:0\r\n")), undefined);
  assertEquals(persistenceRisk({ kind: "unchecked", reason: "NOPERM" }), undefined);
});
