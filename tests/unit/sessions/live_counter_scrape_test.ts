/**
 * A live count whose worker is silent is done on the event loop after COUNT_WAIT_MS, and that
 * count must still make the scrape: the scrape waits COLLECT_TIMEOUT_MS for it, with a timer
 * started first. With the two waits equal, the scrape gave up on the sessions gauges (and
 * counted a collector error) just as the count here began.
 *
 * The defaults are what is tested, on a FakeClock: only the order of the two timers matters, and
 * the test takes no wall time. On real timers twenty times sooner (the margin 50 ms) it failed
 * on a loaded machine: the turns between the scrape's timer and the count's took 50 ms.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { LiveCounter } from "../../../src/sessions/live_counter.ts";
import { COLLECT_TIMEOUT_MS } from "../../../src/metrics/exposition.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";
import { T0 } from "./fixtures.ts";

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;

/** How far the clock moves at a time: the waits are whole multiples of it. */
const STEP_MS = 100;

/**
 * `body`, with the global timers and performance.now() on a FakeClock that moves STEP_MS at a
 * time, a real turn of the event loop after each step: what a fired timer started runs to its end
 * before any later timer fires, and timers due together fire in the order they were set.
 */
async function onFakeClock<T>(body: () => Promise<T>): Promise<T> {
  const clock = new FakeClock();
  const real = { setTimeout, clearTimeout, now: performance.now };
  globalThis.setTimeout = clock.setTimeout as unknown as typeof setTimeout;
  globalThis.clearTimeout = clock.clearTimeout as unknown as typeof clearTimeout;
  performance.now = clock.monotonic;
  try {
    let done = false;
    const running = body().finally(() => (done = true));
    while (!done) {
      await new Promise((resolve) => real.setTimeout(resolve, 0));
      if (clock.monotonic() > 2 * COLLECT_TIMEOUT_MS) throw new Error("Still running at 10 s");
      clock.advance(STEP_MS);
    }
    return await running;
  } finally {
    globalThis.setTimeout = real.setTimeout;
    globalThis.clearTimeout = real.clearTimeout;
    performance.now = real.now;
  }
}

Deno.test("a silent count worker with the default waits: the scrape still has the sessions gauges, counted on the event loop", async () => {
  const counted: string[] = [];
  const metrics = new PrometheusMetrics();
  let text = "";
  const logs = await logsOf(() =>
    onFakeClock(async () => {
      const counter = new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, (server) => {
        counted.push(server);
        return { sessions: 2, pending: 1 };
      }, { workerUrl: silentWorker, closeWaitMs: 50 });
      metrics.addServer("vpn1", {
        // As SqliteStore.countLive: the count is asked a turn after the scrape's timer started.
        counts: () => Promise.resolve().then(() => counter.count("vpn1", T0)),
        linkUp: () => true,
        tunnels: () => undefined,
      });
      try {
        text = await metrics.render();
      } finally {
        await counter.close();
      }
    })
  );
  const lines = text.split("\n");
  assert(lines.includes('openvpn_auth_oidc_sessions{server="vpn1"} 2'), "no sessions gauge");
  assert(lines.includes('openvpn_auth_oidc_pending_logins{server="vpn1"} 1'), "no pending gauge");
  assert(
    lines.includes('openvpn_auth_oidc_metrics_collector_errors_total{collector="sessions:vpn1"} 0'),
    lines.filter((line) => line.includes("collector_errors")).join("\n"),
  );
  assertEquals(counted, ["vpn1"]);
  assertEquals(logs.filter((line) => line.category === "metrics").map((line) => line.text), []);
});
