/**
 * RevocationRetries within a pass: one carried out some other way while the pass runs (the IdP
 * sent the logout again, the admin ran the revoke again) is not carried out a second time, and
 * one is kept for `keepForMs` inclusive, given up only once older.
 */
import { assertEquals } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { RevocationRetries } from "../../../src/bridge/revocation_retries.ts";
import { retryDelayMs } from "../../../src/bridge/retry_delay.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("RevocationRetries: one carried out otherwise while a pass runs is not carried out again in it", async () => {
  const clock = new FakeClock(1_800_000_000_000);
  const tried: string[] = [];
  const retries: RevocationRetries<string> = new RevocationRetries<string>(
    ({ key }) => {
      tried.push(key);
      if (key === "a") retries.delete("b"); // "b" is carried out as it comes meanwhile
      return Promise.resolve();
    },
    clock,
    3_600_000,
    () => {},
  );
  retries.add({ key: "a", at: clock.now(), what: "a" });
  retries.add({ key: "b", at: clock.now(), what: "b" });
  clock.advance(retryDelayMs(1));
  await settle();
  assertEquals([tried, retries.size], [["a"], 0]);
  retries.close();
});

Deno.test("RevocationRetries: one exactly keepForMs old is still tried; older, it is given up", async () => {
  const clock = new FakeClock(1_800_000_000_000);
  const keepForMs = retryDelayMs(1) + retryDelayMs(2);
  const tried: number[] = [];
  const givenUp: string[] = [];
  const retries = new RevocationRetries<string>(
    () => {
      tried.push(clock.now() - start);
      return Promise.reject(new StoreUnavailableError("store down"));
    },
    clock,
    keepForMs,
    ({ key }, why) => givenUp.push(`${key} ${why}`),
  );
  const start = clock.now();
  retries.add({ key: "a", at: start, what: "a" });
  clock.advance(retryDelayMs(1));
  await settle();
  clock.advance(retryDelayMs(2));
  await settle();
  assertEquals([tried, givenUp], [[retryDelayMs(1), keepForMs], []], "tried at, given up");
  clock.advance(retryDelayMs(3));
  await settle();
  assertEquals([givenUp, retries.size], [["a too old"], 0]);
  retries.close();
});
