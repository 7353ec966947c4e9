/**
 * G: how cost grows with the number of sessions in the store. For each store and size the store
 * is filled with that many sessions, 10,000 of them bound to clients that `status 3` lists; the
 * compiled binary starts on it, and we measure: start-up to the first REAUTH answered, the first
 * REAUTH storm (10,000 pipelined, caches cold), then warm storms with CPU per event from /proc,
 * RSS after them, and the store's size.
 *
 * File store: filled on tmpfs, then copied to the disk; its size is the file's (with the WAL).
 * Redis: a redis-server of its own (tests/support/redis_server.ts: free port, no persistence, so
 * no RDB or AOF file), filled through the store with many puts in flight, stopped by pid; its
 * size is `used_memory` from INFO, and its CPU per event is given next to the bridge's.
 *
 *   make bench (10k, 100k) / make bench-scale (10k, 100k, 1M)
 */
import { existsSync, statSync } from "node:fs";
import { Redis } from "ioredis";
import { parseInlineToml } from "../../tests/support/config_toml.ts";
import { freePort } from "../../tests/support/free_port.ts";
import { clientListLine } from "../../tests/support/openvpn_side.ts";
import { RedisServer } from "../../tests/support/redis_server.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { writeBenchConfig } from "../lib/bridge_config.ts";
import { benchCommonName } from "../lib/client_env.ts";
import { encodeBlocks, LoadServer } from "../lib/load_server.ts";
import { join } from "../lib/paths.ts";
import { collectOwnGarbage } from "../lib/own_gc.ts";
import { cpuMsSince, readCpu, rssKb, startChild } from "../lib/proc.ts";
import { printTable, verdict, writeResult } from "../lib/report.ts";
import { copySqliteFile, removeDirs, tmpfsDir } from "../lib/scratch.ts";
import { bulkFill } from "../lib/bulk_fill.ts";
import { fillStoreConcurrently } from "../lib/sessions.ts";
import { median, round } from "../lib/stats.ts";
import { BINARY, firstReauthAnswered } from "./memory_startup.ts";
import { blocksFor } from "./storms.ts";

export type GrowthStore = "file" | "redis";

const BOUND = 10_000;
const WARM_RUNS = 3;
const MIB = 1048576;

interface GrowthRow {
  store: GrowthStore;
  sessions: number;
  /** File store: the file with its WAL; Redis: used_memory. */
  storeMiB: number;
  firstReauthMs: number;
  coldEventsPerSec: number;
  /** The bridge's CPU per event in the first storm. */
  coldCpuUsPerEvent: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
  /** redis-server's CPU per warm event (Redis rows only). */
  redisCpuUsPerEvent?: number;
  rssMiB: number;
  /** Paced REAUTHs with metrics scrapes among them: the longest wait for an answer. */
  scrapeMaxWaitMs: number;
  /** The same run's scrapes: the longest one, ms. */
  scrapeMs: number;
}

/** A filled store and the config to start the binary on it, and how to take both away. */
interface FilledStore {
  configPath: string;
  metricsPort: number;
  storeBytes: number;
  /** The redis-server's pid, when there is one. */
  redisPid?: number;
  dispose(): Promise<void>;
}

async function benchConfig(server: LoadServer, sessions: number, redisUrl?: string) {
  const metricsPort = await freePort();
  const written = writeBenchConfig("bench-growth-", {
    management: server.address,
    issuer: "http://127.0.0.1:9/realms/vpn",
    clientSecret: "unused",
    backend: redisUrl === undefined ? "file" : "redis",
    ...(redisUrl === undefined ? {} : { redisUrl }),
    maxEntries: Math.max(400_000, sessions * 2),
    httpPort: await freePort(),
    metricsPort,
  });
  return { ...written, metricsPort };
}

async function fillFile(server: LoadServer, sessions: number, bound: number): Promise<FilledStore> {
  const { dir, configPath, storePath, toml, metricsPort } = await benchConfig(server, sessions);
  // Filled on tmpfs, then copied to the disk.
  const shmDir = tmpfsDir("bench-g-");
  try {
    const { config } = parseInlineToml(toml, configPath);
    const shmPath = join(shmDir, "sessions.sqlite");
    await bulkFill({ ...config.sessions, path: shmPath }, config.http.secret, sessions, bound);
    copySqliteFile(shmPath, storePath);
  } catch (error) {
    removeDirs(dir);
    throw error;
  } finally {
    removeDirs(shmDir);
  }
  const storeBytes = ["", "-wal"].reduce(
    (sum, suffix) => sum + (existsSync(storePath + suffix) ? statSync(storePath + suffix).size : 0),
    0,
  );
  return {
    configPath,
    metricsPort,
    storeBytes,
    dispose: () => Promise.resolve(removeDirs(dir)),
  };
}

async function fillRedis(
  server: LoadServer,
  sessions: number,
  bound: number,
): Promise<FilledStore> {
  const redis = await RedisServer.start();
  const { dir, configPath, toml, metricsPort } = await benchConfig(server, sessions, redis.url);
  const dispose = async () => {
    await redis.dispose();
    removeDirs(dir);
  };
  try {
    const { config } = parseInlineToml(toml, configPath);
    const store = await openSessionStore(config.sessions, config.http.secret);
    try {
      await fillStoreConcurrently(store, sessions, bound);
    } finally {
      await store.close();
    }
    const client = new Redis(redis.port, "127.0.0.1", { lazyConnect: true });
    try {
      await client.connect();
      const storeBytes = Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
      return { configPath, metricsPort, storeBytes, redisPid: redis.pid!, dispose };
    } finally {
      client.disconnect();
    }
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function measureSize(
  backend: GrowthStore,
  sessions: number,
  bound: number,
): Promise<GrowthRow> {
  const server = await LoadServer.start();
  server.clientList = Array.from(
    { length: bound },
    (_, i) => clientListLine(i, benchCommonName(i)),
  );
  let filled: FilledStore | undefined;
  try {
    const fillStart = performance.now();
    filled = await (backend === "file" ? fillFile : fillRedis)(server, sessions, bound);
    console.log(
      `  G ${backend}: filled ${sessions} sessions in ${
        Math.round(performance.now() - fillStart)
      } ms`,
    );
    const listed = server.waitForLine((line) => line === "status 3", 60_000);
    const start = performance.now();
    const bridge = startChild(BINARY, ["--config", filled.configPath]);
    try {
      await listed;
      const firstReauthMs = (await firstReauthAnswered(server)) - start;
      let roundNo = 0;
      const coldBlocks = blocksFor("REAUTH", bound, roundNo++);
      collectOwnGarbage();
      const coldBefore = readCpu(bridge.pid);
      const cold = await server.run(coldBlocks);
      const coldCpuUs = (cpuMsSince(coldBefore) * 1000) / cold.answered;
      const warm: Array<{ eventsPerSec: number; cpuUs: number; redisCpuUs: number }> = [];
      const redisPid = filled.redisPid;
      for (let run = 0; run < WARM_RUNS; run++) {
        const blocks = blocksFor("REAUTH", bound, roundNo++);
        collectOwnGarbage();
        const before = readCpu(bridge.pid);
        const redisBefore = redisPid === undefined ? undefined : readCpu(redisPid);
        const result = await server.run(blocks);
        warm.push({
          eventsPerSec: result.eventsPerSec,
          cpuUs: (cpuMsSince(before) * 1000) / result.answered,
          redisCpuUs: redisBefore === undefined
            ? NaN
            : (cpuMsSince(redisBefore) * 1000) / result.answered,
        });
      }
      const scrapes = await pacedWithScrapes(server, filled.metricsPort, roundNo++);
      const row: GrowthRow = {
        store: backend,
        sessions,
        storeMiB: filled.storeBytes / MIB,
        firstReauthMs,
        coldEventsPerSec: cold.eventsPerSec,
        coldCpuUsPerEvent: coldCpuUs,
        eventsPerSec: median(warm.map((w) => w.eventsPerSec)),
        cpuUsPerEvent: median(warm.map((w) => w.cpuUs)),
        ...(redisPid === undefined ? {} : {
          redisCpuUsPerEvent: median(warm.map((w) => w.redisCpuUs)),
        }),
        rssMiB: rssKb(bridge.pid) / 1024,
        ...scrapes,
      };
      console.log(`  G ${backend} ${sessions} sessions: ${JSON.stringify(row)}`);
      return row;
    } finally {
      await bridge.stop();
    }
  } finally {
    await filled?.dispose();
    await server.stop();
  }
}

const SCRAPE_PACED = 1_000;
const SCRAPES_AT_MS = [150, 450, 750];

/**
 * 1,000 REAUTHs at 1,000/s with a metrics scrape at 150, 450 and 750 ms: each scrape counts the
 * server's live sessions and pending logins. The longest wait for an answer in that run shows
 * whether a scrape holds up REAUTHs (the file store counted on the event loop until 2026-12-03).
 */
async function pacedWithScrapes(server: LoadServer, metricsPort: number, round: number) {
  const blocks = encodeBlocks(blocksFor("REAUTH", SCRAPE_PACED, round));
  collectOwnGarbage();
  const start = performance.now();
  const run = server.run(blocks, { ratePerSec: 1000 });
  const scrapeMs: number[] = [];
  for (const at of SCRAPES_AT_MS) {
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, start + at - performance.now()))
    );
    const asked = performance.now();
    const answer = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    if (!(await answer.text()).includes("openvpn_auth_oidc_sessions{")) {
      throw new Error("G: a metrics scrape without the sessions gauge");
    }
    scrapeMs.push(performance.now() - asked);
  }
  const result = await run;
  if (result.answered !== SCRAPE_PACED) {
    throw new Error(`G: ${result.answered} of ${SCRAPE_PACED} paced REAUTHs answered`);
  }
  return { scrapeMaxWaitMs: Math.max(...result.latenciesMs), scrapeMs: Math.max(...scrapeMs) };
}

export async function growth(
  sizes: number[],
  bound = BOUND,
  stores: GrowthStore[] = ["file", "redis"],
) {
  const rows: GrowthRow[] = [];
  for (const store of stores) {
    for (const size of sizes) rows.push(await measureSize(store, size, Math.min(bound, size)));
  }
  printTable(
    `G growth: binary (Bun), ${bound} bound sessions REAUTHing, warm figures median of ` +
      `${WARM_RUNS}; store MiB = file with WAL, or Redis used_memory (no persistence)`,
    rows.map((r) => ({
      store: r.store,
      sessions: r.sessions,
      "store MiB": round(r.storeMiB),
      "start-up to first REAUTH ms": round(r.firstReauthMs),
      "first storm events/s": Math.round(r.coldEventsPerSec),
      "warm events/s": Math.round(r.eventsPerSec),
      "first x warm": round(r.coldEventsPerSec / r.eventsPerSec),
      "first storm CPU µs/event": round(r.coldCpuUsPerEvent),
      "CPU µs/event": round(r.cpuUsPerEvent),
      "redis-server CPU µs/event": r.redisCpuUsPerEvent === undefined
        ? ""
        : round(r.redisCpuUsPerEvent),
      "RSS MiB": round(r.rssMiB),
      "scrape ms": round(r.scrapeMs),
      "paced wait with scrapes, max ms": round(r.scrapeMaxWaitMs),
    })),
  );
  const goals = stores.flatMap((store) => {
    const own = rows.filter((r) => r.store === store);
    const smallest = own[0]!;
    const largest = own[own.length - 1]!;
    return [
      ...own.slice(1).map((r) => {
        const growthRatio = r.cpuUsPerEvent / smallest.cpuUsPerEvent;
        return {
          goal:
            `${store}, ${r.sessions} sessions: CPU per REAUTH <= 1.5 x that with ${smallest.sessions}`,
          measured: round(growthRatio),
          result: verdict(growthRatio <= 1.5),
        };
      }),
      {
        goal: `${store}, ${largest.sessions} sessions: start-up to first REAUTH answered < 2 s`,
        measured: round(largest.firstReauthMs),
        result: verdict(largest.firstReauthMs < 2000),
      },
    ];
  });
  printTable("G goals", goals);
  writeResult("g_growth", { bound, warmRuns: WARM_RUNS, rows });
  return { rows, goals };
}
