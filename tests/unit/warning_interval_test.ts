import { assertEquals } from "../support/assert.ts";
import { WarningInterval } from "../../src/warning_interval.ts";

Deno.test("WarningInterval: the first occurrence is warned about, the next ones counted until the interval has passed", () => {
  let now = 1_000;
  const warning = new WarningInterval(60_000, () => now);
  assertEquals(warning.due(), 0);
  now += 59_999;
  assertEquals([warning.due(), warning.due()], [undefined, undefined]);
  now += 1;
  assertEquals(warning.due(), 2);
  assertEquals(warning.due(), undefined);
  now += 60_000;
  assertEquals(warning.due(), 1);
});

Deno.test("WarningInterval: a wall clock stepped back does not hold the next warning back for the length of the step", () => {
  let now = 1_800_000_000_000;
  const warning = new WarningInterval(60_000, () => now);
  assertEquals(warning.due(), 0);
  now -= 3_600_000;
  assertEquals(warning.due(), 0);
  // The interval runs again from the warning just given.
  now += 59_999;
  assertEquals(warning.due(), undefined);
  now += 1;
  assertEquals(warning.due(), 1);
});
