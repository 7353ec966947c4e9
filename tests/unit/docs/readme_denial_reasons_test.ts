/**
 * The README lists every code `denials_total{reason}` and the audit lines of refusals carry, and
 * no other: a dashboard or an alert is written from that list.
 */
import { assertEquals } from "../../support/assert.ts";
import { DENIAL_REASONS } from "../../../src/metrics/port.ts";

const README = new URL("../../../README.md", import.meta.url);
/** Where the README's list begins, and what ends it (in its text with lines joined). */
const LIST_START = "`denials_total{reason}` counts each refusal";
const LIST_END = " - **Audit log**";
/** Named in the list beside a code, but not one: what the IdP answered. */
const NOT_CODES = new Set(["access_denied"]);

Deno.test("the README lists every denial reason code, and only those", async () => {
  // Joined: the list is a wrapped paragraph, its line breaks anywhere.
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const start = readme.indexOf(LIST_START);
  const end = readme.indexOf(LIST_END, start);
  assertEquals([start >= 0, end > start], [true, true], "the README's list of denial reasons");
  const listed = [...readme.slice(start + LIST_START.length, end).matchAll(/`([a-z_]+)`/g)]
    .map((match) => match[1]!)
    .filter((word) => !NOT_CODES.has(word));
  assertEquals([...listed].sort(), [...DENIAL_REASONS].sort());
});
