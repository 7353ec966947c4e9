import { assertEquals } from "../support/assert.ts";
import { MAX_TIMER_DELAY_MS, systemClock } from "../../src/clock.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("systemClock.clearTimeout() cancels a pending timer; undefined is ignored", async () => {
  let fired = false;
  const timer = systemClock.setTimeout(() => fired = true, 1);
  systemClock.clearTimeout(timer);
  systemClock.clearTimeout(undefined);
  await sleep(20);
  assertEquals(fired, false);
});

Deno.test("systemClock.setTimeout() waits MAX_TIMER_DELAY_MS, the longest delay a runtime takes, instead of firing at once", async () => {
  let fired = false;
  const timer = systemClock.setTimeout(() => fired = true, MAX_TIMER_DELAY_MS);
  await sleep(20);
  systemClock.clearTimeout(timer);
  assertEquals(fired, false);
});

Deno.test("systemClock.setTimeout() keeps the process alive by default, not with keepAlive: false", async () => {
  // A process of its own: whether a timer holds it is seen only in when it exits.
  const clock = new URL("../../src/clock.ts", import.meta.url).href;
  const script = `import { systemClock } from ${JSON.stringify(clock)};
    systemClock.setTimeout(() => console.log("kept"), 50);
    systemClock.setTimeout(() => console.log("housekeeping"), 5_000, { keepAlive: false });`;
  const started = performance.now();
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdin: "null",
    stderr: "inherit",
  }).output();
  const elapsed = performance.now() - started;
  assertEquals([new TextDecoder().decode(child.stdout), child.code], ["kept\n", 0]);
  assertEquals(elapsed < 4_000, true, `exited after ${Math.round(elapsed)} ms`);
});
