/**
 * Code's own words passed to a log line as properties (words(), src/log_words.ts), through the
 * real sink: written into the sentence in text and JSON, while the data beside them (an address)
 * stays quoted. Each line here read with its sentence pieces in quotes before.
 */
import { assertEquals } from "../support/assert.ts";
import { linesLogged } from "../support/stderr_capture.ts";
import { parseRedisInfo } from "../../src/sessions/redis_info.ts";
import {
  PERSISTENCE_FIX,
  persistenceRisk,
  warnOfPersistence,
} from "../../src/sessions/redis_persistence.ts";

const NO_AOF = parseRedisInfo("# Persistence\r\naof_enabled:0\r\n");

/** The message of the one line `log` writes, in `format`. */
function messageOf(format: "text" | "json", log: () => void): string {
  const lines = linesLogged(format, false, log);
  assertEquals(lines.length, 1, lines.join("\n"));
  return format === "json"
    ? JSON.parse(lines[0]!).message
    : lines[0]!.replace(/^.*? \[[A-Z]{3}\] [^:]+: /, "");
}

Deno.test("the Redis persistence warning: the risk and the fix are its sentence, the address quoted", () => {
  const sentence = `Session store "redis://db:6379/0": ${
    persistenceRisk(NO_AOF)
  }; ${PERSISTENCE_FIX}`;
  for (const format of ["text", "json"] as const) {
    assertEquals(messageOf(format, () => warnOfPersistence(NO_AOF, "redis://db:6379/0")), sentence);
  }
});
