/**
 * An IdP outage that begins within a minute of the last one's warning (told at debug, so that an
 * IdP that flaps cannot fill the log) is still warned about if it lasts: at its first check once
 * that minute is up, saying when it began and how many sessions it met so far, and its end is
 * then at info. (The lines through the admission step: refresh_outage_lines_test.ts.)
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { EVENTS_T0 } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RefreshOutage } from "../../../src/bridge/refresh_outage.ts";
import { IDP_UNREACHABLE_HINT } from "../../../src/bridge/idp_unreachable_hint.ts";
import { getLogger } from "../../../src/log.ts";

const CHECKS_EVERY_MS = 10_000;

/**
 * A RefreshOutage on a fake clock, and `script` run with the logs captured (moving the clock by
 * the `advance` it is given): the lines at info and above, each as `level @seconds: text`, the
 * seconds since the start when it was logged.
 */
function told(script: (outage: RefreshOutage, advance: (ms: number) => void) => void): string[] {
  const clock = new FakeClock(EVENTS_T0);
  const outage = new RefreshOutage(getLogger("bridge"), clock.now);
  const logs = captureLogs();
  const lines: string[] = [];
  let seen = 0;
  const tagNew = () => {
    for (const { level, text } of logs.lines.slice(seen)) {
      if (level !== "debug") lines.push(`${level} @${(clock.now() - EVENTS_T0) / 1000}: ${text}`);
    }
    seen = logs.lines.length;
  };
  try {
    script(outage, (ms) => {
      tagNew();
      clock.advance(ms);
    });
    tagNew();
  } finally {
    logs.stop();
  }
  return lines;
}

const DENY = "until one reaches it again, each client checked is refused (a renegotiation, a " +
  "reconnect) or disconnected (the periodic re-check), and its session kept for its reconnect; " +
  `they are counted and told then; ${IDP_UNREACHABLE_HINT}`;

Deno.test("an IdP outage that begins within a minute of the last one's warning and lasts is warned about once that minute is up, with when it began and its sessions so far, and its end at info", () => {
  const lines = told((outage, advance) => {
    outage.unreachable("s1", "timeout", "deny");
    advance(20_000);
    outage.answered();
    advance(10_000);
    // Down again 30 s after the warning, for two hours, 50 sessions checked in turn.
    outage.unreachable("s2", "timeout", "deny");
    for (let check = 0; check < 720; check++) {
      advance(CHECKS_EVERY_MS);
      outage.unreachable(`s${check % 50}`, "HTTP 503", "deny");
    }
    outage.answered();
  });
  assertEquals(lines, [
    `warning @0: Refresh checks cannot ask the identity provider (timeout): ${DENY}`,
    "info @20: Refresh checks reach the identity provider again: 1 session(s) could not be " +
    "re-checked meanwhile (their clients refused or disconnected, the sessions kept)",
    // s2 at 30 s, then s0, s1, s2 at 40, 50 and 60 s.
    "warning @60: Refresh checks cannot ask the identity provider (HTTP 503; since " +
    `${new Date(EVENTS_T0 + 30_000).toISOString()}, 3 session(s) so far): ${DENY}`,
    "info @7230: Refresh checks reach the identity provider again: 50 session(s) could not be " +
    "re-checked meanwhile (their clients refused or disconnected, the sessions kept)",
  ]);
});

Deno.test("an IdP that flaps is warned about at most once a minute, late warnings included, each warned outage's end at info", () => {
  const lines = told((outage, advance) => {
    // Ten minutes of 30 s down (three checks), 10 s up.
    for (let cycle = 0; cycle < 15; cycle++) {
      for (let check = 0; check < 3; check++) {
        outage.unreachable(`s${check}`, "timeout", "allow");
        advance(CHECKS_EVERY_MS);
      }
      outage.answered();
      advance(CHECKS_EVERY_MS);
    }
  });
  const warnedAt = lines.filter((line) => line.startsWith("warning"))
    .map((line) => Number(line.slice("warning @".length, line.indexOf(":"))));
  // Each minute's first check: an outage's beginning (0 s, 120 s, ...), or the third check (60 s,
  // 180 s, ...) of an outage begun at 40 s, 160 s, ...
  assertEquals(warnedAt, [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]);
  const ended = lines.filter((line) => line.startsWith("info"));
  assertEquals(ended.length, warnedAt.length, lines.join("\n"));
  assert(ended.every((line) => line.includes(": 3 session(s) could not be re-checked")));
});
