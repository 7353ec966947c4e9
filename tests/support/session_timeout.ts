/**
 * The `session-timeout <s>` line the bridge ends every client-auth block with (the rest of the
 * session's lifetime, client_config.ts withSessionTimeout): tests that compare whole blocks see
 * it as `session-timeout <s>`, once its value is checked to be at most `lifetimeSec` and no more
 * than a minute less (the time a test takes until the answer).
 */
import { assert } from "./assert.ts";

export function sessionTimeoutShown(lines: readonly string[], lifetimeSec: number): string[] {
  return lines.map((line) => {
    const match = /^session-timeout (\d+)$/.exec(line);
    if (match === null) return line;
    const seconds = Number(match[1]);
    assert(
      seconds <= lifetimeSec && seconds > lifetimeSec - 60,
      `session-timeout ${seconds}, not the rest of a ${lifetimeSec} s lifetime`,
    );
    return "session-timeout <s>";
  });
}
