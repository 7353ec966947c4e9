/**
 * A protocol warning that names no client comes once a line of what the peer sends (stray reply
 * lines, malformed `>` lines), and the peer may be a broken OpenVPN or a local user who bound the
 * management port first: ServerLink logs such warnings at most once a minute per code, telling
 * how many it held back. One that names a client is logged with that client's deny, every time.
 */
import { assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { getLogger } from "../../../src/log.ts";
import type { ProtocolWarningCode } from "../../../src/management/events.ts";
import { ManagementProtocol } from "../../../src/management/protocol.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testClientEvents } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

function linkOver() {
  const { connection, sent, emit } = scriptedConnection((_command, count) => ({
    ticket: count,
    type: "success",
    message: "ok",
  }));
  const clock = new FakeClock();
  const { events } = testClientEvents({
    store: new MemoryStore({ maxEntries: 10 }),
    clock,
    eventsCommander: managementCommander(connection),
  });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  const warn = (
    code: ProtocolWarningCode,
    message: string,
    ids: { cid?: number; kid?: number } = {},
  ) => emit({ type: "warning", code, message, ...ids });
  return { link, clock, sent, emit, warn };
}

Deno.test("a flood of stray reply lines is logged once a minute, with how many were held back", async () => {
  const logs = captureLogs();
  const { link, clock, warn } = linkOver();
  try {
    const protocolLines = () =>
      logs.lines.filter((line) => line.text.startsWith("Management protocol"));
    for (let i = 0; i < 10_000; i++) {
      warn("unexpected-reply", "Reply line with no command waiting: 0 chars");
    }
    assertEquals(protocolLines().length, 1, "one line for 10,000 warnings");
    clock.advance(59_000);
    warn("unexpected-reply", "Reply line with no command waiting: 0 chars");
    assertEquals(protocolLines().length, 1, "still within the minute");
    clock.advance(1_000);
    warn("unexpected-reply", "Reply line with no command waiting: 2 chars");
    const lines = protocolLines();
    assertEquals(lines.length, 2);
    assertEquals(lines.map((line) => line.level), ["warning", "warning"]);
    assertEquals(
      lines[1]!.text,
      "Management protocol: Reply line with no command waiting: 2 chars " +
        "(10000 more like it since the last warning)",
    );
  } finally {
    await link.stop();
    logs.stop();
  }
});

Deno.test("stray lines as the management protocol reads them make one log line", async () => {
  const logs = captureLogs();
  const { link, emit } = linkOver();
  try {
    // No command waiting: each line, empty or not, is an `unexpected-reply` warning.
    const { events } = new ManagementProtocol().push("x\n\nSUCCESS: y\n".repeat(20_000));
    assertEquals(events.length, 60_000);
    for (const event of events) emit(event);
    const logged = logs.lines.filter((line) => line.text.startsWith("Management protocol"));
    assertEquals(logged.length, 1, "one line for 60,000 stray lines");
    assertEquals(
      logged[0]!.text,
      'Management protocol: Reply line with no command waiting: "x" (1 chars)',
    );
  } finally {
    await link.stop();
    logs.stop();
  }
});

Deno.test("a flood of one protocol warning does not hold back the first of another", async () => {
  const logs = captureLogs();
  const { link, warn } = linkOver();
  try {
    for (let i = 0; i < 1000; i++) {
      warn("unexpected-reply", "Reply line with no command waiting: 3 chars");
      warn("malformed-line", "Malformed real-time line: skipped");
    }
    warn("line-too-long", "Line of 8193+ chars dropped: limit is 8192");
    assertEquals(
      logs.lines.filter((line) => line.text.startsWith("Management protocol")).map((line) =>
        line.properties["message"]
      ),
      [
        "Reply line with no command waiting: 3 chars",
        "Malformed real-time line: skipped",
        "Line of 8193+ chars dropped: limit is 8192",
      ],
    );
  } finally {
    await link.stop();
    logs.stop();
  }
});

Deno.test("a protocol warning that names a client is logged with its deny each time", async () => {
  const logs = captureLogs();
  const { link, sent, warn } = linkOver();
  try {
    for (const cid of [5, 6]) {
      warn("malformed-line", "Malformed >CLIENT:CONNECT line: block dropped", { cid, kid: 1 });
    }
    const denying = () => logs.lines.filter((line) => line.text.includes("; denying cid"));
    assertEquals(denying().map((line) => line.properties["cid"]), [5, 6]);
  } finally {
    // Waits for the denies being written.
    await link.stop();
    logs.stop();
  }
  assertEquals(sent.map((command) => command.split(" ").slice(0, 3).join(" ")), [
    "client-deny 5 1",
    "client-deny 6 1",
  ]);
});
