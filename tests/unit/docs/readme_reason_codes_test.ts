/**
 * The README lists every code `denials_total{reason}` and the audit lines of refusals carry, and
 * every reason a `session_ended` audit line carries, and no others: a dashboard or an alert is
 * written from those lists.
 */
import { assertEquals } from "../../support/assert.ts";
import { SESSION_END_REASONS } from "../../../src/audit.ts";
import { DENIAL_REASONS } from "../../../src/metrics/port.ts";

const README = new URL("../../../README.md", import.meta.url);

/**
 * The codes the README names between `start` and the first `end` after it (in its text with
 * lines joined: a list is a wrapped paragraph, its line breaks anywhere), less `notCodes`.
 */
async function listedCodes(
  start: string,
  end: string,
  notCodes: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const from = readme.indexOf(start);
  const to = readme.indexOf(end, from);
  assertEquals([from >= 0, to > from], [true, true], `the README's list after ${start}`);
  return [...readme.slice(from + start.length, to).matchAll(/`([a-z_]+)`/g)]
    .map((match) => match[1]!)
    .filter((word) => !notCodes.has(word))
    .sort();
}

Deno.test("the README lists every denial reason code, and only those", async () => {
  // Named in the list beside a code, but not one: what the IdP answered.
  const listed = await listedCodes(
    "`denials_total{reason}` counts each refusal",
    " - **Audit log**",
    new Set(["access_denied"]),
  );
  assertEquals(listed, [...DENIAL_REASONS].sort());
});

Deno.test("the README lists every reason a session_ended audit line carries, and only those", async () => {
  const listed = await listedCodes("The reason codes of `session_ended`:", " - **Log output**");
  assertEquals(listed, [...SESSION_END_REASONS].sort());
});
