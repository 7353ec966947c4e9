/**
 * A live count whose worker is silent is done on the event loop after COUNT_WAIT_MS, and that
 * count must still make the scrape: the scrape waits COLLECT_TIMEOUT_MS for it, with a timer
 * started first. With the two waits equal, the scrape gave up on the sessions gauges (and
 * counted a collector error) just as the count here began.
 *
 * The defaults are what is tested, at a twentieth of their length: every timer of the test runs
 * twenty times sooner (their order is what matters), so the test waits 250 ms, not 5 s.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { LiveCounter } from "../../../src/sessions/live_counter.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";
import { T0 } from "./fixtures.ts";

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;

/** How much sooner every timer fires while `body` runs. */
const SPEEDUP = 20;

async function withFastTimers<T>(body: () => Promise<T>): Promise<T> {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout =
    ((handler: () => void, ms?: number) =>
      realSetTimeout(handler, Math.ceil((ms ?? 0) / SPEEDUP))) as typeof setTimeout;
  try {
    return await body();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

Deno.test("a silent count worker with the default waits: the scrape still has the sessions gauges, counted on the event loop", async () => {
  const counted: string[] = [];
  const counter = new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, (server) => {
    counted.push(server);
    return { sessions: 2, pending: 1 };
  }, { workerUrl: silentWorker, closeWaitMs: 50 });
  const metrics = new PrometheusMetrics();
  metrics.addServer("vpn1", {
    // As SqliteStore.countLive: the count is asked a turn after the scrape's timer started.
    counts: () => Promise.resolve().then(() => counter.count("vpn1", T0)),
    linkUp: () => true,
  });
  // The worker started already (by another server's count, left waiting), as at any scrape but
  // the first: starting it blocks the event loop some 40 ms, a lot in timers twenty times sooner.
  const warmUp = counter.count("vpn0", T0).catch(() => {});
  try {
    let text = "";
    const logs = await logsOf(() => withFastTimers(async () => (text = await metrics.render())));
    const lines = text.split("\n");
    assert(lines.includes('openvpn_auth_oidc_sessions{server="vpn1"} 2'), "no sessions gauge");
    assert(lines.includes('openvpn_auth_oidc_pending_logins{server="vpn1"} 1'), "no pending gauge");
    assert(
      lines.includes(
        'openvpn_auth_oidc_metrics_collector_errors_total{collector="sessions:vpn1"} 0',
      ),
      lines.filter((line) => line.includes("collector_errors")).join("\n"),
    );
    assertEquals(counted, ["vpn1"]);
    assertEquals(
      logs.filter((line) => line.category === "metrics").map((line) => line.text),
      [],
    );
  } finally {
    await counter.close();
    await warmUp;
  }
});
