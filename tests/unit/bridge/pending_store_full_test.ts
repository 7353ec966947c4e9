/**
 * A CONNECT whose pending login the store would not take because its pending table is full
 * (`sessions.max_entries`): denied as the store being unavailable (STORE_FULL, `client-deny`: a
 * retry may find room), audited and counted per CONNECT, and warned about at most once a minute.
 * It was an "internal error", with an error line per CONNECT of a flood.
 */
import { assertEquals } from "../../support/assert.ts";
import { STORE_FULL } from "../../../src/bridge/denial.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  settle,
  testClientEvents,
  testEnv,
} from "../../support/client_events_fixture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";

Deno.test("a CONNECT into a full pending table (max_entries = 1) is denied as store full, warned about once a minute", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 1, now: clock.now });
  const counted: string[] = [];
  const { events, commander } = testClientEvents({
    store,
    clock,
    metrics: countingMetrics(counted),
  });
  try {
    await events.onConnect(1, 1, testEnv({ session_id: "s-1" }));
    assertEquals(commander.commands.map((command) => command.kind), ["pending"]);
    const lines = await logsOf(async () => {
      for (const cid of [2, 3, 4]) {
        await events.onConnect(cid, 1, testEnv({ session_id: `s-${cid}` }));
      }
    });
    assertEquals(
      commander.commands.slice(1),
      [2, 3, 4].map((cid) => ({
        kind: "deny",
        cid,
        kid: 1,
        reason: STORE_FULL.logReason,
        clientReason: STORE_FULL.reason,
      })),
    );
    assertEquals(counted, Array(3).fill("denial store_unavailable"));
    const audit = lines.filter((line) => line.category === "audit");
    assertEquals(audit.map((line) => line.text.endsWith(": store_unavailable")), [
      true,
      true,
      true,
    ]);
    assertEquals(lines.filter((line) => line.level === "error"), []);
    const denied = lines.filter((line) =>
      line.category !== "audit" && line.text.includes(STORE_FULL.logReason)
    );
    assertEquals(denied.map((line) => line.level), ["warning", "debug", "debug"]);
    // Nothing of the refused sign-ins is left to time out: only cid 1's deadline denies.
    const mark = commander.commands.length;
    clock.advance(60_001);
    await settle();
    assertEquals(commander.commands.slice(mark).map((command) => command.cid), [1]);
  } finally {
    events.close();
  }
});
