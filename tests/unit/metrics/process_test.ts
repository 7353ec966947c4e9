import { assert } from "../../support/assert.ts";
import process from "node:process";
import { Registry } from "../../../src/metrics/exposition.ts";
import { registerProcessMetrics } from "../../../src/metrics/process.ts";

function cpuSeconds(text: string): number {
  const match = /^process_cpu_seconds_total (\S+)$/m.exec(text);
  assert(match, text);
  return Number(match[1]);
}

Deno.test("process_cpu_seconds_total adds only the CPU time used since the last scrape", async () => {
  const registry = new Registry();
  registerProcessMetrics(registry);
  await registry.render();
  const counted = cpuSeconds(await registry.render());
  const usage = process.cpuUsage();
  const used = (usage.user + usage.system) / 1e6;
  assert(counted > 0 && counted <= used, `counted ${counted} s of CPU, the process used ${used} s`);
});
