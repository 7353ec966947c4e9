/**
 * Once its store is closed, a live counter counts nothing: a count is refused at once, without
 * starting a worker that nobody would end (live_counter.ts).
 */
import { assertEquals, assertMatch } from "../../support/assert.ts";
import { LiveCounter } from "../../../src/sessions/live_counter.ts";
import { T0 } from "./fixtures.ts";

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;

Deno.test("a count asked after close() is refused at once, with no worker started for it", async () => {
  const counted: string[] = [];
  const counter = new LiveCounter({ path: "unused.db", busyTimeoutMs: 100 }, (server) => {
    counted.push(server);
    return { sessions: 0, pending: 0 };
  }, { workerUrl: silentWorker, countWaitMs: 60_000, closeWaitMs: 50 });
  await counter.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    counter.count("vpn1", T0).then(() => "counted", (error) => String(error)),
    new Promise<string>((resolve) => timer = setTimeout(() => resolve("still waiting"), 500)),
  ]);
  clearTimeout(timer);
  assertMatch(outcome, /Session store is closed/);
  assertEquals(counted, []);
});
