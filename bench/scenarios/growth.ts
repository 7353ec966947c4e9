/**
 * G: how cost grows with the number of sessions in the file store. For each size the store is
 * filled (on tmpfs, then copied to the disk) with that many sessions, 10,000 of them bound to
 * clients that `status 3` lists; the compiled binary starts on it, and we measure: start-up to
 * the first REAUTH answered, the first REAUTH storm (10,000 pipelined, caches cold), then warm
 * storms with CPU per event from /proc, RSS after them, and the file's size.
 *
 *   make bench (10k, 100k) / make bench-scale (10k, 100k, 1M)
 */
import { existsSync, statSync } from "node:fs";
import { parseInlineToml } from "../../tests/support/config_toml.ts";
import { freePort } from "../../tests/support/free_port.ts";
import { clientListLine } from "../../tests/support/openvpn_side.ts";
import { writeBenchConfig } from "../lib/bridge_config.ts";
import { benchCommonName } from "../lib/client_env.ts";
import { LoadServer } from "../lib/load_server.ts";
import { join } from "../lib/paths.ts";
import { cpuMs, rssKb, startChild } from "../lib/proc.ts";
import { printTable, verdict, writeResult } from "../lib/report.ts";
import { copySqliteFile, removeDirs, tmpfsDir } from "../lib/scratch.ts";
import { bulkFill } from "../lib/bulk_fill.ts";
import { median, round } from "../lib/stats.ts";
import { BINARY, firstReauthAnswered } from "./memory_startup.ts";
import { blocksFor } from "./storms.ts";

const BOUND = 10_000;
const WARM_RUNS = 3;

interface GrowthRow {
  sessions: number;
  fileMiB: number;
  firstReauthMs: number;
  coldEventsPerSec: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
  rssMiB: number;
}

async function measureSize(sessions: number, bound: number): Promise<GrowthRow> {
  const server = await LoadServer.start();
  server.clientList = Array.from(
    { length: bound },
    (_, i) => clientListLine(i, benchCommonName(i)),
  );
  const { dir, configPath, storePath, toml } = writeBenchConfig("bench-growth-", {
    management: server.address,
    httpPort: await freePort(),
    issuer: "http://127.0.0.1:9/realms/vpn",
    clientSecret: "unused",
    backend: "file",
    maxEntries: Math.max(400_000, sessions * 2),
  });
  // Filled on tmpfs, then copied to the disk.
  const shmDir = tmpfsDir("bench-g-");
  try {
    const { config } = parseInlineToml(toml, configPath);
    const fillStart = performance.now();
    const shmPath = join(shmDir, "sessions.sqlite");
    await bulkFill({ ...config.sessions, path: shmPath }, config.http.secret, sessions, bound);
    copySqliteFile(shmPath, storePath);
    const fileBytes = ["", "-wal"].reduce(
      (sum, suffix) =>
        sum + (existsSync(storePath + suffix) ? statSync(storePath + suffix).size : 0),
      0,
    );
    console.log(
      `  G: filled ${sessions} sessions in ${Math.round(performance.now() - fillStart)} ms`,
    );
    const listed = server.waitForLine((line) => line === "status 3", 60_000);
    const start = performance.now();
    const bridge = startChild(BINARY, ["--config", configPath]);
    try {
      await listed;
      const firstReauthMs = (await firstReauthAnswered(server)) - start;
      let roundNo = 0;
      const cold = await server.run(blocksFor("REAUTH", bound, roundNo++));
      const warm: Array<{ eventsPerSec: number; cpuUs: number }> = [];
      for (let run = 0; run < WARM_RUNS; run++) {
        const before = cpuMs(bridge.pid);
        const result = await server.run(blocksFor("REAUTH", bound, roundNo++));
        warm.push({
          eventsPerSec: result.eventsPerSec,
          cpuUs: ((cpuMs(bridge.pid) - before) * 1000) / result.answered,
        });
      }
      const row: GrowthRow = {
        sessions,
        fileMiB: fileBytes / 1048576,
        firstReauthMs,
        coldEventsPerSec: cold.eventsPerSec,
        eventsPerSec: median(warm.map((w) => w.eventsPerSec)),
        cpuUsPerEvent: median(warm.map((w) => w.cpuUs)),
        rssMiB: rssKb(bridge.pid) / 1024,
      };
      console.log(`  G ${sessions} sessions: ${JSON.stringify(row)}`);
      return row;
    } finally {
      await bridge.stop();
    }
  } finally {
    await server.stop();
    removeDirs(dir, shmDir);
  }
}

export async function growth(sizes: number[], bound = BOUND) {
  const rows: GrowthRow[] = [];
  for (const size of sizes) rows.push(await measureSize(size, Math.min(bound, size)));
  printTable(
    `G growth: file store, binary (Bun), ${bound} bound sessions REAUTHing, ` +
      `warm figures median of ${WARM_RUNS}`,
    rows.map((r) => ({
      sessions: r.sessions,
      "file MiB": round(r.fileMiB),
      "start-up to first REAUTH ms": round(r.firstReauthMs),
      "first storm events/s": Math.round(r.coldEventsPerSec),
      "warm events/s": Math.round(r.eventsPerSec),
      "CPU µs/event": round(r.cpuUsPerEvent),
      "RSS MiB": round(r.rssMiB),
    })),
  );
  const smallest = rows[0]!;
  const goals = rows.slice(1).flatMap((r) => {
    const growthRatio = r.cpuUsPerEvent / smallest.cpuUsPerEvent;
    return [
      {
        goal: `${r.sessions} sessions: CPU per REAUTH <= 1.5 x that with ${smallest.sessions}`,
        measured: round(growthRatio),
        result: verdict(growthRatio <= 1.5),
      },
    ];
  });
  const largest = rows[rows.length - 1]!;
  goals.push({
    goal: `${largest.sessions} sessions: start-up to first REAUTH answered < 2 s`,
    measured: round(largest.firstReauthMs),
    result: verdict(largest.firstReauthMs < 2000),
  });
  printTable("G goals", goals);
  writeResult("g_growth", { bound, warmRuns: WARM_RUNS, rows });
  return { rows, goals };
}
