/**
 * `make bench`: runs B1-B4 and G (growth) side by side in one run and prints one table per scenario (JSON
 * under bench/results/). Every throughput figure comes with a ratio against the reference
 * responder measured in the same run, because the machine is shared and noisy.
 *
 *   deno run --allow-all bench/main.ts [--only B1,B3,G] [--runs 3] [--quick]
 *     [--growth-sizes 10000,100000,1000000] [--growth-stores file,redis] [--b3-runtime binary]
 *     [--storm-runtime bun]
 *
 * `--b3-runtime binary` runs B3 against the released binary (dist/, built by Bun) and the
 * reference RP on Bun, instead of `deno run src/main.ts` and the RP on Deno. `--storm-runtime bun`
 * runs B1 and B2 on Bun (the bridge's sources and the reference responder), with the allocator
 * setting the binary gives itself.
 * `--quick` shrinks every scenario (for a smoke test of the harness; figures not comparable).
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { connectStorm, reauthStorm, reconnectStorm } from "./scenarios/storms.ts";
import { fullLogins } from "./scenarios/full_logins.ts";
import { redisMemoryPerSession } from "./scenarios/redis_memory.ts";
import { memoryAndStartup } from "./scenarios/memory_startup.ts";
import { growth } from "./scenarios/growth.ts";
import { printTable, type Row, writeResult } from "./lib/report.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string" },
    runs: { type: "string" },
    quick: { type: "boolean" },
    "growth-sizes": { type: "string" },
    "growth-stores": { type: "string" },
    "b3-runtime": { type: "string" },
    "storm-runtime": { type: "string" },
  },
});
const KEYCLOAK_PBKDF2_ITERATIONS = 210_000;
const only = new Set((values.only ?? "B1,B2,B3,B4,B5,G").toUpperCase().split(","));
const quick = values.quick === true;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const scale = quick ? 0.1 : 1;
const b3Runtime = values["b3-runtime"] ?? "deno";
if (b3Runtime !== "deno" && b3Runtime !== "binary") {
  throw new Error(`--b3-runtime: "deno" or "binary", not ${JSON.stringify(b3Runtime)}`);
}
const stormRuntime = values["storm-runtime"] ?? "deno";
if (stormRuntime !== "deno" && stormRuntime !== "bun") {
  throw new Error(`--storm-runtime: "deno" or "bun", not ${JSON.stringify(stormRuntime)}`);
}
const started = performance.now();
const goals: Row[] = [];
const summary: Record<string, unknown> = {};

console.log(
  `openvpn-auth-oidc bench: ${runs} run(s) per figure, ${
    quick ? "QUICK (figures not comparable)" : "full size"
  }`,
);

if (only.has("B1")) {
  const result = await reauthStorm({
    runtime: stormRuntime,
    events: Math.round(10_000 * scale),
    runs,
    pacedRate: 1000,
    pacedEvents: Math.round(5000 * scale),
  });
  goals.push(...result.goals.map((g) => ({ scenario: "B1", ...g })));
  summary["B1"] = result.summaries;
}
if (only.has("B2")) {
  const result = await connectStorm({
    runtime: stormRuntime,
    events: Math.round(10_000 * scale),
    runs,
    pacedRate: 500,
    // 3 s at 500/s: the p99 goal (10 ms) has room, and `make bench` must stay near 6 minutes.
    pacedEvents: Math.round(1500 * scale),
  });
  goals.push(...result.goals.map((g) => ({ scenario: "B2", ...g })));
  summary["B2"] = result.summaries;
}
if (only.has("B5")) {
  const result = await reconnectStorm({
    runtime: stormRuntime,
    events: Math.round(10_000 * scale),
    runs,
  });
  goals.push(...result.goals.map((g) => ({ scenario: "B5", ...g })));
  summary["B5"] = result.summaries;
}
if (only.has("B3")) {
  for (const backend of ["file", "memory"] as const) {
    const result = await fullLogins({
      concurrency: [1, 4, 16],
      // CPU time comes in 10 ms ticks from /proc: 125 / 170 / 350 logins keep the rounding of
      // either side's figure within about 3 per cent (the reference RP's CPU per login is
      // smallest at concurrency 16, about 1.1 ms).
      loginsPerLevel: (concurrency) => Math.round((110 + 15 * concurrency) * (quick ? 0.2 : 1)),
      runs,
      backend,
      runtime: b3Runtime,
    });
    goals.push(...result.goals.map((g) => ({ scenario: "B3", ...g })));
    summary[`B3-${backend}`] = result.summaries;
  }
  // Once against IdPs that check passwords like Keycloak: PBKDF2-SHA512 with 210,000
  // iterations, the default of Keycloak's pbkdf2-sha512 provider (the OWASP figure).
  const keycloakLike = await fullLogins({
    concurrency: [1, 4],
    loginsPerLevel: () => (quick ? 6 : 20),
    runs: 1,
    backend: "file",
    pbkdf2Iterations: KEYCLOAK_PBKDF2_ITERATIONS,
    // The share of the IdP's hashing is the figure here; 200 warm-up logins would add a minute.
    warmUpLogins: 20,
    runtime: b3Runtime,
  });
  goals.push(...keycloakLike.goals.map((g) => ({ scenario: "B3", ...g })));
  summary["B3-file-keycloak-like-idp"] = keycloakLike.summaries;
}
if (only.has("B4")) {
  const result = await memoryAndStartup({
    sessions: Math.round(100_000 * scale),
    boundSessions: Math.round(10_000 * scale),
    startupRuns: runs,
    idleSeconds: quick ? 1 : 3,
  });
  goals.push(...result.goals.map((g) => ({ scenario: "B4", ...g })));
  summary["B4"] = {
    idle: result.idle,
    sessionCost: result.cost,
    startup: result.start,
    binaryBytes: result.binaryBytes,
    redis: await redisMemoryPerSession(Math.round(20_000 * scale)),
  };
}
if (only.has("G")) {
  const sizes = (values["growth-sizes"] ?? "10000,100000").split(",").map(Number)
    .map((n) => Math.max(100, Math.round(n * scale)));
  const stores = (values["growth-stores"] ?? "file,redis").split(",").map((store) => {
    if (store !== "file" && store !== "redis") throw new Error(`Unknown growth store: ${store}`);
    return store;
  });
  const result = await growth(sizes, Math.round(10_000 * scale), stores);
  goals.push(...result.goals.map((g) => ({ scenario: "G", ...g })));
  summary["G"] = result.rows;
}

const seconds = (performance.now() - started) / 1000;
printTable(`All goals (bench took ${seconds.toFixed(0)} s)`, goals);
writeResult("summary", { date: new Date().toISOString(), runs, quick, seconds, goals, summary });
process.exit(0);
