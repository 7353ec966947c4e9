import { assert, assertEquals } from "../../support/assert.ts";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { StoreFullError, StoreFullReporter } from "../../../src/sessions/store_full.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { MINUTE, T0 } from "./fixtures.ts";

Deno.test("StoreFullReporter warns at most once a minute however many puts it rejects", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["openvpn-auth-oidc", "sessions"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    const clock = new FakeClock(T0);
    const reporter = new StoreFullReporter(clock.now);
    for (let i = 0; i < 5; i++) {
      const error = reporter.reject("pending", 10);
      assert(error instanceof StoreFullError);
      assertEquals(error.message, "Session store full: pending holds its maximum of 10 entries");
      clock.time += 1_000;
    }
    assertEquals(records.length, 1);
    assertEquals(records[0]?.level, "warning");
    clock.time += MINUTE;
    reporter.reject("sessions", 10);
    assertEquals(records.length, 2);
    assertEquals(records[1]?.properties["table"], "sessions");
  } finally {
    await reset();
  }
});
