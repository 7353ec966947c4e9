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
