/**
 * RetryPasses (retry_delay.ts): one pass at a time. A pass runs store work over a shared queue
 * (DisconnectRetries, RevocationRetries); a second pass started while one waits on the store would
 * take the same departures again, or find the queue emptied under it.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { type PassOutcome, RetryPasses } from "../../../src/bridge/retry_delay.ts";

Deno.test("RetryPasses arms no pass while one runs: the running pass arms the next itself", async () => {
  const clock = new FakeClock();
  const finishes: Array<(outcome: PassOutcome) => void> = [];
  const passes = new RetryPasses(
    () => new Promise<PassOutcome>((resolve) => finishes.push(resolve)),
    clock,
  );
  passes.arm();
  clock.advance(1_000);
  assertEquals(finishes.length, 1);
  // Work added while the pass waits on the store: no timer of its own.
  passes.arm();
  assertEquals(clock.pendingTimers, 0, "a pass was armed while one was running");
  clock.advance(60_000);
  assertEquals(finishes.length, 1, "two passes ran at once");

  finishes[0]!({ failed: true, left: true });
  await Promise.resolve();
  await Promise.resolve();
  assertEquals(clock.pendingTimers, 1);
  clock.advance(2_000);
  assertEquals(finishes.length, 2);
  passes.close();
});

Deno.test("RetryPasses: a pass that throws is logged and counted failed, and the next one is armed", async () => {
  const clock = new FakeClock();
  let passes = 0;
  const retries = new RetryPasses(() => {
    passes++;
    return passes === 1 ? Promise.reject(new Error("give-up callback failed")) : Promise.resolve({
      failed: false,
      left: false,
    });
  }, clock);
  const logs = captureLogs();
  try {
    retries.arm();
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assertEquals(clock.pendingTimers, 1, "no pass armed after one threw");
    // Counted as a failed pass: the next comes after the second delay, 2 s.
    clock.advance(1_999);
    assertEquals(passes, 1);
    clock.advance(1);
    assertEquals(passes, 2);
    assertEquals(
      logs.lines.filter((line) => line.level === "error").map((line) => line.properties.error),
      ["Error: give-up callback failed"],
    );
  } finally {
    logs.stop();
    retries.close();
  }
});
