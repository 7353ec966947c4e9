/**
 * README, Security notes: "logs never contain tokens, passwords or `password=` values". A
 * management line the protocol cannot place is reported as a warning (logged by the link) that
 * describes the line: the description shows `***` from the credential hint on, never the value.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { describeLine } from "../../../src/management/describe_line.ts";
import { type ManagementEvent, ManagementProtocol } from "../../../src/management/protocol.ts";

const SECRET = "hunter2";

function warningsOf(events: readonly ManagementEvent[]): string[] {
  return events.flatMap((event) => event.type === "warning" ? [event.message] : []);
}

/** Neither the secret nor any longer piece of it, and the redaction mark. */
function assertRedacted(text: string): void {
  assert(!text.includes(SECRET), `the secret leaked: ${text}`);
  assert(!text.includes("hunter"), `part of the secret leaked: ${text}`);
  assertStringIncludes(text, "***");
}

Deno.test("a stray reply line holding password= is warned about with the value redacted", () => {
  const core = new ManagementProtocol();
  const { events, replies } = core.push(`SUCCESS: password=${SECRET}\r\n`);
  assertEquals(replies, []);
  const warnings = warningsOf(events);
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0]!, "Reply line with no command waiting");
  assertRedacted(warnings[0]!);
  assertRedacted(JSON.stringify(events));
});

Deno.test("an unexpected single-line reply holding password= is warned about, and failed, with the value redacted", () => {
  const core = new ManagementProtocol();
  const ticket = core.expect("single");
  const { events, replies } = core.push(`auth ok password=${SECRET}\r\n`);
  const warnings = warningsOf(events);
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0]!, "Unexpected reply line");
  assertRedacted(warnings[0]!);
  // The command fails with the same description: its error is logged by whoever sent it.
  assertEquals(replies.length, 1);
  const [reply] = replies;
  assert(reply?.type === "error");
  assertEquals(reply.ticket, ticket);
  assertRedacted(reply.message);
});

Deno.test("a password= line split across reads is still redacted", () => {
  const core = new ManagementProtocol();
  const first = core.push("SUCCESS: pass");
  const second = core.push(`word=${SECRET}\r\n`);
  const warnings = warningsOf([...first.events, ...second.events]);
  assertEquals(warnings.length, 1);
  assertRedacted(warnings[0]!);
});

for (
  const line of [
    `password=${SECRET}`,
    `PASSWORD=${SECRET}`,
    `Auth-Token:${SECRET}`,
    `client_secret=${SECRET}`,
    `SESS_ID_${SECRET}`,
    `>stray, pass ${SECRET}`,
  ]
) {
  Deno.test(`describeLine(${JSON.stringify(line)}) hides what follows the credential hint`, () => {
    assertRedacted(describeLine(line));
  });
}

Deno.test("describeLine() of a long line with password= past the shown part shows neither", () => {
  const described = describeLine(`${"x".repeat(60)} password=${SECRET}`);
  assert(!described.includes(SECRET), described);
  assert(!described.includes("password="), described);
});

Deno.test("describeLine() quotes control characters, so a line cannot forge a log line", () => {
  const described = describeLine("bad\r\n2026-01-01 INFO forged");
  assert(!/[\r\n]/.test(described), described);
});

Deno.test("describeLine() leaves a line without a credential hint readable", () => {
  assertEquals(describeLine("hello"), '"hello" (5 chars)');
});
