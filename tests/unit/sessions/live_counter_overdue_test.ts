/**
 * A count on a worker that did not answer in time makes that worker's later counts overdue at
 * once (live_counter.ts), even when the wait's timer fired before the count's deadline by
 * performance.now(): timers and that clock do not agree to the millisecond, and a later count
 * would otherwise wait out the difference (a whole timer, late on a busy machine) again.
 */
import { assertEquals } from "../../support/assert.ts";
import { turnsDuring } from "../../support/turns.ts";
import { LiveCounter } from "../../../src/sessions/live_counter.ts";
import { T0 } from "./fixtures.ts";

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;

Deno.test("a count whose timer fired early by performance.now() still makes later ones overdue", async () => {
  const realNow = performance.now;
  const frozenAt = performance.now();
  // Stopped: every timer now fires "before" the deadline the counter computed.
  performance.now = () => frozenAt;
  const counted: string[] = [];
  const counter = new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, (server) => {
    counted.push(server);
    return { sessions: 1, pending: 0 };
  }, { workerUrl: silentWorker, countWaitMs: 50, closeWaitMs: 50 });
  try {
    assertEquals(await counter.count("vpn1", T0), { sessions: 1, pending: 0 });
    const { result, turns } = await turnsDuring(() => counter.count("vpn1", T0));
    assertEquals(result, { sessions: 1, pending: 0 });
    assertEquals(turns, 0, "the second count waited for the stuck worker again");
    assertEquals(counted, ["vpn1", "vpn1"]);
  } finally {
    performance.now = realNow;
    await counter.close();
  }
});
