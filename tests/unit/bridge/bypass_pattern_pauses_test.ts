/**
 * The bypass pattern check (bypass_patterns.ts) times each test of a pattern, so a pause of the
 * process must not make a quick pattern look like one that backtracks: on a loaded machine a
 * pattern that takes microseconds was seen slow twice in a row, and the load warned of it.
 */
import { assertEquals } from "../../support/assert.ts";
import { bypassPatternWarning, compileBypassPattern } from "../../../src/bridge/bypass_patterns.ts";

/** Busy for `ms`: a pause the way another program's turn on the processor looks to a timer. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the processor is elsewhere */ }
}

/** `source` compiled, whose first `pauses` tests take 25 ms each (over the 20 ms budget). */
function pausedPattern(source: string, pauses: number): RegExp {
  const compiled = compileBypassPattern(source);
  let left = pauses;
  return new (class extends RegExp {
    override test(text: string): boolean {
      if (left > 0) {
        left--;
        busy(25);
      }
      return super.test(text);
    }
  })(compiled.source, compiled.flags);
}

Deno.test("a bypass pattern whose test was paused twice in a row is not warned of as backtracking", () => {
  assertEquals(bypassPatternWarning("vpn-gw-[0-9]+", pausedPattern("vpn-gw-[0-9]+", 2)), undefined);
});

Deno.test("a bypass pattern slow at every try is warned of, with the fastest of its tries", () => {
  const warning = bypassPatternWarning("vpn-gw-[0-9]+", pausedPattern("vpn-gw-[0-9]+", 3)) ?? "";
  assertEquals(
    /^"vpn-gw-\[0-9\]\+" backtracks badly on long names: a certificate name of 1 character took 2\d ms/
      .test(warning),
    true,
    warning,
  );
});
