/**
 * B4: memory and start-up.
 * - Idle RSS of the bridge (compiled binary, and `deno run src/main.ts`), memory store,
 *   connected to the load server and to an IdP, after a few seconds of rest.
 * - RSS and heap with 100,000 sessions in a memory store, per session (Deno and Bun).
 * - Start-up of the compiled binary with 100,000 sessions in its file store (10,000 of them
 *   bound to live cids that `status 3` lists): spawn to management link up, to /healthz
 *   answering, and to the first REAUTH answered.
 * - Size of the binary.
 */
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseInlineToml } from "../../tests/support/config_toml.ts";
import { openSessionStore } from "../../src/sessions/open_store.ts";
import { freePort } from "../../tests/support/free_port.ts";
import { writeBenchConfig } from "../lib/bridge_config.ts";
import { benchCommonName, clientBlock } from "../lib/client_env.ts";
import { LoadServer } from "../lib/load_server.ts";
import { clientListLine } from "../../tests/support/openvpn_side.ts";
import { dirname, fromFileUrl, join } from "../lib/paths.ts";
import { BUN, BUN_ENV, DENO, rssKb, startChild } from "../lib/proc.ts";
import { printTable, verdict, writeResult } from "../lib/report.ts";
import { DENO_V8_FLAGS_ARGUMENT } from "../../src/deno_v8_flags.ts";
import { copySqliteFile, removeDirs, tmpfsDir } from "../lib/scratch.ts";
import { fillStore } from "../lib/sessions.ts";
import { median, round } from "../lib/stats.ts";
import { IDP_CLIENT_SECRET, startIdpProcess } from "./idp_child.ts";

const ROOT = join(dirname(fromFileUrl(import.meta.url)), "..", "..");
export const BINARY = join(ROOT, "dist/openvpn-auth-oidc");

export interface MemoryStartupOptions {
  sessions: number;
  boundSessions: number;
  startupRuns: number;
  idleSeconds: number;
}

async function idleRss(options: MemoryStartupOptions) {
  const results: Array<{ bridge: string; rssKb: number }> = [];
  const variants: Array<[string, string, string[]]> = [
    ["binary (Bun)", BINARY, []],
    ["deno run src/main.ts", DENO, [
      "run",
      "-A",
      DENO_V8_FLAGS_ARGUMENT,
      join(ROOT, "src/main.ts"),
    ]],
  ];
  for (const [name, command, args] of variants) {
    if (command === BINARY && !existsSync(BINARY)) continue;
    const httpPort = await freePort();
    const idp = await startIdpProcess(`http://127.0.0.1:${httpPort}/oauth2/callback`);
    const server = await LoadServer.start();
    const { dir, configPath } = writeBenchConfig("bench-b4-idle-", {
      management: server.address,
      httpPort,
      issuer: idp.issuer,
      clientSecret: IDP_CLIENT_SECRET,
      backend: "memory",
    });
    const ready = server.waitForLine((line) => line === "status 3", 30_000);
    const bridge = startChild(command, [...args, "--config", configPath]);
    try {
      await ready;
      await waitForHttp(`http://127.0.0.1:${httpPort}/readyz`, 20_000);
      await sleep(options.idleSeconds * 1000);
      results.push({ bridge: name, rssKb: rssKb(bridge.pid) });
    } finally {
      await bridge.stop();
      await idp.child.stop();
      await server.stop();
      removeDirs(dir);
    }
  }
  return results;
}

/** Polls until `url` answers 200. */
async function waitForHttp(url: string, timeoutMs: number, intervalMs = 20): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

async function sessionCost(count: number) {
  const results = [];
  const script = join(ROOT, "bench/lib/memory_child.ts");
  const variants: Array<[string, string[]]> = [[
    DENO,
    ["run", "-A", DENO_V8_FLAGS_ARGUMENT, script, String(count)],
  ]];
  variants.push([BUN, [script, String(count)]]);
  for (const [command, args] of variants) {
    const child = startChild(command, args, {
      BUN_INSTALL_CACHE_DIR: join(tmpdir(), "bun-cache"),
      ...(command === BUN ? BUN_ENV : {}),
    });
    try {
      const line = await child.waitForOutput((l) => l.startsWith("{"), 180_000);
      const data = JSON.parse(line) as {
        runtime: string;
        sessions: number;
        rssBefore: number;
        rssAfter: number;
        heapBefore: number;
        heapAfter: number;
        youngBefore: number;
        youngAfter: number;
      };
      // The young generation's growth is the runtime's, whatever the number of sessions.
      const youngGrowth = data.youngAfter - data.youngBefore;
      results.push({
        ...data,
        youngGrowth,
        rssPerSession: (data.rssAfter - data.rssBefore - youngGrowth) / data.sessions,
        heapPerSession: (data.heapAfter - data.heapBefore) / data.sessions,
      });
    } catch (error) {
      console.log(`  B4: session cost on ${command} failed: ${String(error).slice(0, 300)}`);
    } finally {
      await child.stop();
    }
  }
  return results;
}

/** Sends one REAUTH of client 0 and resolves with the time its answer arrived. */
export function firstReauthAnswered(server: LoadServer): Promise<number> {
  const answered = new Promise<number>((resolve) => {
    const off = server.onAnswer((answer) => {
      if (answer.cid === 0 && answer.kid === 99) {
        off();
        resolve(answer.at);
      }
    });
  });
  server.send({ cid: 0, kid: 99, text: clientBlock("REAUTH", 0, 99) });
  return answered;
}

async function startup(options: MemoryStartupOptions) {
  const server = await LoadServer.start();
  server.clientList = Array.from(
    { length: options.boundSessions },
    (_, i) => clientListLine(i, benchCommonName(i)),
  );
  const httpPort = await freePort();
  const { dir, configPath, storePath, toml } = writeBenchConfig("bench-b4-start-", {
    management: server.address,
    httpPort,
    // No IdP: start-up must not wait for one (discovery runs in the background).
    issuer: "http://127.0.0.1:9/realms/vpn",
    clientSecret: IDP_CLIENT_SECRET,
    backend: "file",
  });
  // Filled on tmpfs, then copied to the disk before each start.
  const shmDir = tmpfsDir("bench-b4-");
  const shmPath = join(shmDir, "sessions.sqlite");
  const runs: Array<{ managementMs: number; healthzMs: number; firstReauthMs: number }> = [];
  try {
    const { config } = parseInlineToml(toml, configPath);
    const fillStart = performance.now();
    const store = await openSessionStore({ ...config.sessions, path: shmPath }, config.http.secret);
    await fillStore(store, 0, options.sessions, options.boundSessions);
    await store.close();
    console.log(
      `  B4: filled ${options.sessions} sessions in ${
        Math.round(performance.now() - fillStart)
      } ms`,
    );
    for (let run = 0; run < options.startupRuns; run++) {
      copySqliteFile(shmPath, storePath);
      const connected = server.waitForLine((line) => line === "version", 30_000)
        .then(() => performance.now());
      const listed = server.waitForLine((line) => line === "status 3", 30_000);
      const start = performance.now();
      const bridge = startChild(BINARY, ["--config", configPath]);
      try {
        const healthz = waitForHttp(`http://127.0.0.1:${httpPort}/healthz`, 30_000, 5);
        await listed;
        const reauth = firstReauthAnswered(server);
        const [managementAt, healthzAt, reauthAt] = await Promise.all([connected, healthz, reauth]);
        runs.push({
          managementMs: managementAt - start,
          healthzMs: healthzAt - start,
          firstReauthMs: reauthAt - start,
        });
        console.log(
          `  B4 start-up run ${run + 1}/${options.startupRuns}: ${JSON.stringify(runs.at(-1))}`,
        );
      } finally {
        await bridge.stop();
      }
    }
  } finally {
    await server.stop();
    removeDirs(dir, shmDir);
  }
  return {
    runs,
    managementMs: median(runs.map((r) => r.managementMs)),
    healthzMs: median(runs.map((r) => r.healthzMs)),
    firstReauthMs: median(runs.map((r) => r.firstReauthMs)),
  };
}

export async function memoryAndStartup(options: MemoryStartupOptions) {
  const idle = await idleRss(options);
  const cost = await sessionCost(options.sessions);
  const hasBinary = existsSync(BINARY);
  const start = hasBinary ? await startup(options) : undefined;
  const binaryBytes = hasBinary ? statSync(BINARY).size : NaN;
  writeResult("b4_memory_startup", {
    options,
    idle,
    sessionCost: cost,
    startup: start,
    binaryBytes,
  });

  printTable(
    `B4 idle RSS (memory store, connected, after ${options.idleSeconds} s)`,
    idle.map((r) => ({ bridge: r.bridge, "RSS MiB": round(r.rssKb / 1024) })),
  );
  printTable(
    `B4 ${options.sessions} sessions in a memory store (after full GC and 1 s of rest)`,
    cost.map((r) => ({
      runtime: r.runtime,
      "RSS before MiB": round(r.rssBefore / 2 ** 20),
      "RSS after MiB": round(r.rssAfter / 2 ** 20),
      "of which young generation MiB": round(r.youngGrowth / 2 ** 20),
      "RSS B/session (less young gen.)": Math.round(r.rssPerSession),
      "RSS KiB/session": round(r.rssPerSession / 1024),
      "heap KiB/session": round(r.heapPerSession / 1024),
    })),
  );
  if (start) {
    printTable(
      `B4 start-up of ${BINARY.slice(ROOT.length + 1)} with ${options.sessions} sessions ` +
        `in the file store (median of ${options.startupRuns})`,
      [{
        "to management link (ms)": round(start.managementMs),
        "to /healthz 200 (ms)": round(start.healthzMs),
        "to first REAUTH answered (ms)": round(start.firstReauthMs),
        "binary MiB": round(binaryBytes / 2 ** 20),
      }],
    );
  }
  const ready = start ? Math.max(start.managementMs, start.healthzMs) : NaN;
  const goals = [
    ...cost.map((r) => ({
      goal: `${r.runtime}: <= 2 KB (2048 B) RSS per session`,
      measured: `${Math.round(r.rssPerSession)} B`,
      result: verdict(r.rssPerSession <= 2048),
    })),
    {
      goal: "binary start-up to ready (management link and /healthz) < 1 s, 100k sessions",
      measured: `${Math.round(ready)} ms`,
      result: verdict(ready < 1000),
    },
    {
      // Stricter reading: ready means answering. The bridge reconciles its sessions with
      // OpenVPN's client list first, which decodes every stored session.
      goal: "binary start-up to first REAUTH answered < 1 s, 100k sessions",
      measured: `${Math.round(start?.firstReauthMs ?? NaN)} ms`,
      result: verdict((start?.firstReauthMs ?? Infinity) < 1000),
    },
  ];
  printTable("B4 goals", goals);
  return { idle, cost, start, binaryBytes, goals };
}
