import { assertEquals } from "../../support/assert.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { CollectorErrors } from "../../../src/metrics/collector_errors.ts";
import { CounterFamily, Registry } from "../../../src/metrics/exposition.ts";

Deno.test("CollectorErrors counts every failed scrape but warns once per outage, and not for a flapping store", async () => {
  let now = 0;
  const family = new CounterFamily("errors_total", "Errors.", ["collector"]);
  const registry = new Registry(new CollectorErrors(family, () => now));
  registry.register(family);
  let storeDown = true;
  registry.onCollect("sessions:default", () => {
    if (storeDown) throw new Error("Redis down");
  });
  const capture = captureLogs();
  const scrape = async () => {
    await registry.render();
    now += 10_000;
  };
  try {
    for (let i = 0; i < 3; i++) await scrape();
    storeDown = false;
    await scrape();
    // Down again within the minute: told at debug only.
    storeDown = true;
    await scrape();
    storeDown = false;
    await scrape();
    now += 60_000;
    storeDown = true;
    await scrape();
  } finally {
    capture.stop();
  }
  assertEquals(
    capture.lines.filter((l) => l.category === "metrics").map((l) => [l.level, l.text]),
    [
      [
        "warning",
        "Metrics collector sessions:default failed (Redis down); its samples are left out until it works again",
      ],
      ["info", "Metrics collector sessions:default works again after 3 failed scrapes"],
      [
        "debug",
        "Metrics collector sessions:default failed (Redis down); its samples are left out until it works again",
      ],
      ["debug", "Metrics collector sessions:default works again after 1 failed scrapes"],
      [
        "warning",
        "Metrics collector sessions:default failed (Redis down); its samples are left out until it works again",
      ],
    ],
  );
  assertEquals(family.labels("sessions:default").value, 5);
});
