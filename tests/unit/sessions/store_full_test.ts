import assert from "node:assert/strict";
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
      assert.ok(error instanceof StoreFullError);
      assert.equal(error.message, "Session store full: pending holds its maximum of 10 entries");
      clock.time += 1_000;
    }
    assert.equal(records.length, 1);
    assert.equal(records[0]?.level, "warning");
    clock.time += MINUTE;
    reporter.reject("sessions", 10);
    assert.equal(records.length, 2);
    assert.equal(records[1]?.properties["table"], "sessions");
  } finally {
    await reset();
  }
});
