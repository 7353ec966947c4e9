/**
 * Server name claims (src/cluster/server_name_claims.ts) on a fake clock and a scripted Redis:
 * the arithmetic the integration test (tests/integration/cluster/server_name_claims_test.ts)
 * can only see loosely on real time. When a name is lost by our own clock, and how soon a
 * waiting bridge is refused once the holder shows it is alive.
 */
import type { Redis } from "ioredis";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { getLogger } from "../../../src/log.ts";
import { leaseTiming } from "../../../src/cluster/lease.ts";
import { RELEASE } from "../../../src/cluster/redis_scripts.ts";
import { ServerNameClaims, ServerNameInUseError } from "../../../src/cluster/server_name_claims.ts";

const CLAIM_MS = 10_000;

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A Redis whose answer to each claim is `answer(now)`; a release always finds the key gone. */
function scriptedRedis(clock: FakeClock, answer: (monotonic: number) => Promise<unknown>) {
  return {
    eval: (script: string) => script === RELEASE ? Promise.resolve(0) : answer(clock.monotonic()),
  } as unknown as Redis;
}

function claims(clock: FakeClock, redis: Redis): ServerNameClaims {
  return new ServerNameClaims({
    redis,
    keyPrefix: "p:",
    servers: ["default"],
    clock,
    log: getLogger("sessions"),
    claimMs: CLAIM_MS,
  });
}

/** Moves the fake clock to `ms` after the start in steps of `step`, letting each step's work run. */
async function advanceTo(clock: FakeClock, ms: number, step = 1): Promise<void> {
  while (clock.monotonic() < ms) {
    clock.advance(Math.min(step, ms - clock.monotonic()));
    await settle();
  }
}

Deno.test("a claim whose renewals stop getting through is lost by our own clock a margin before Redis expires it, not after", async () => {
  const { leaseMs, renewEveryMs, marginMs } = leaseTiming(CLAIM_MS);
  const clock = new FakeClock();
  // Taken at start, renewed once, then Redis answers no more (frozen: the renewal hangs).
  const redis = scriptedRedis(
    clock,
    (now) =>
      now === 0
        ? Promise.resolve(["taken"])
        : now === renewEveryMs
        ? Promise.resolve(["renewed"])
        : new Promise(() => {}),
  );
  const logs = captureLogs();
  const named = claims(clock, redis);
  try {
    await named.start();
    // Redis keeps the claim until leaseMs after the last renewal was sent; another bridge may
    // take the name then, so this one must have counted it lost a margin before.
    const lostAt = renewEveryMs + leaseMs - marginMs;
    await advanceTo(clock, lostAt - 1);
    assertEquals(named.held(), ["default"], "held until the margin before Redis's expiry");
    await advanceTo(clock, lostAt);
    assertEquals(named.held(), [], "lost by our own clock before Redis's expiry");
    assertEquals(
      logs.lines.filter((line) => line.level === "error").map((line) => line.properties.server),
      ["default"],
    );
  } finally {
    logs.stop();
    await Promise.race([named.stop(), Promise.resolve()]);
  }
});

Deno.test("a bridge waiting for a name is refused within a renewal period and a retry once the live holder renews its claim", async () => {
  const { leaseMs, renewEveryMs, retryEveryMs } = leaseTiming(CLAIM_MS);
  const clock = new FakeClock();
  // The live holder renewed 100 ms before this bridge started, and renews every renewEveryMs.
  const sinceRenewal = (now: number) => (now + 100) % renewEveryMs;
  const redis = scriptedRedis(
    clock,
    (now) =>
      Promise.resolve(["bridge", "vpn2.example.com/4242/a1b2c3", leaseMs - sinceRenewal(now)]),
  );
  const named = claims(clock, redis);
  let refusedAt: number | undefined;
  const started = named.start().finally(() => refusedAt = clock.monotonic());
  const refused = assertRejects(() => started, ServerNameInUseError);
  while (refusedAt === undefined && clock.monotonic() < 3 * leaseMs) {
    clock.advance(100);
    await settle();
  }
  await refused;
  // README: refused "within about 4 s" of the default 10 s claim, not after the claim's time.
  const bound = renewEveryMs + retryEveryMs;
  assertEquals(refusedAt !== undefined && refusedAt <= bound, true, `refused at ${refusedAt} ms`);
});
