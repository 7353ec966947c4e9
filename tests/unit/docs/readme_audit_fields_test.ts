/**
 * The README lists every event and every field of an audit line, and no other: whoever parses
 * the audit log (a SIEM rule, an incident's query) is written from those lists. Every line has
 * the same fields, in the same order, whatever its event and whatever applies to it.
 */
import { assertEquals } from "../../support/assert.ts";
import { audit, AUDIT_EVENTS } from "../../../src/audit.ts";
import { configureLogging } from "../../../src/log.ts";
import { captureStderr } from "../../support/stderr_capture.ts";

const README = new URL("../../../README.md", import.meta.url);
const EVENTS_START = "The audit events:";
const FIELDS_START = "Every audit line has these fields, in this order:";

/** The `code` words of the README's sentence that begins with `start` (lines joined). */
async function listed(start: string): Promise<string[]> {
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const from = readme.indexOf(start);
  assertEquals(from >= 0, true, `the README's list after "${start}"`);
  const sentence = readme.slice(from + start.length, readme.indexOf(". ", from));
  return [...sentence.matchAll(/`([A-Za-z0-9_]+)`/g)].map((match) => match[1]!);
}

Deno.test("the README lists every audit event, and only those", async () => {
  assertEquals((await listed(EVENTS_START)).sort(), [...AUDIT_EVENTS].sort());
});

Deno.test("every audit line has the fields the README lists, in its order, whatever its event", async () => {
  const fields = await listed(FIELDS_START);
  configureLogging("info", "json");
  const capture = captureStderr();
  try {
    const nobody = { server: "default", cid: undefined, commonName: undefined, clientIp: "" };
    const someone = {
      ...nobody,
      cid: 4,
      username: "alice",
      subject: "f3a1",
      sessionId: "s-1",
      browserIp: "192.0.2.1",
    };
    for (const event of AUDIT_EVENTS) {
      audit(event, { ...nobody, username: "", subject: "" });
      audit(event, someone, "group", { clientPort: 1, durationSec: 2, virtualIp: "10.8.0.2" });
    }
  } finally {
    capture.restore();
  }
  const lines = capture.lines().map((line) => JSON.parse(line));
  assertEquals(lines.length, 2 * AUDIT_EVENTS.length);
  for (const line of lines) assertEquals(Object.keys(line.properties), fields, line.message);
});
