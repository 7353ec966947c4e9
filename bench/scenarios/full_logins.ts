/**
 * B3: full logins. For each login the load generator sends a CONNECT (as OpenVPN), takes the
 * login URL from `client-pending-auth`, plays the browser over HTTP (login page, confirm form,
 * the IdP's login form, the callback) and waits for `client-auth`. The bridge
 * (`deno run src/main.ts`) and the IdP run as separate processes so that each one's CPU time
 * can be read from /proc; the ratio bridge/IdP CPU per login is the figure that matters.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "../../tests/support/free_port.ts";
import { bridgeLoginOverHttp } from "../../tests/support/bridge_browser.ts";
import { benchConfigToml } from "../lib/bridge_config.ts";
import { clientBlock } from "../lib/client_env.ts";
import { type Answer, LoadServer } from "../lib/load_server.ts";
import { dirname, fromFileUrl, join } from "../lib/paths.ts";
import { cpuMs, cpuTimes, DENO, profileFlags, startChild } from "../lib/proc.ts";
import { printTable, verdict, writeResult } from "../lib/report.ts";
import { median, round } from "../lib/stats.ts";
import { IDP_CLIENT_SECRET, startIdpProcess } from "./idp_child.ts";

const MAIN = join(dirname(fromFileUrl(import.meta.url)), "..", "..", "src/main.ts");

export interface FullLoginOptions {
  concurrency: number[];
  /** Logins per concurrency level and run. */
  loginsPerLevel: (concurrency: number) => number;
  runs: number;
  backend: "memory" | "file";
}

/** Waits for the bridge's answer of a kind to a cid. */
class AnswerBook {
  readonly #waiters = new Map<string, (answer: Answer) => void>();
  readonly #early = new Map<string, Answer>();

  constructor(server: LoadServer) {
    server.onAnswer((answer) => {
      const key = `${answer.kind}:${answer.cid}`;
      const waiter = this.#waiters.get(key);
      if (waiter) {
        this.#waiters.delete(key);
        waiter(answer);
      } else {
        this.#early.set(key, answer);
      }
    });
  }

  wait(kind: string, cid: number, timeoutMs = 30_000): Promise<Answer> {
    const key = `${kind}:${cid}`;
    const early = this.#early.get(key);
    if (early) {
      this.#early.delete(key);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        reject(new Error(`No ${kind} for cid ${cid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(key, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }
}

async function oneLogin(
  server: LoadServer,
  book: AnswerBook,
  baseUrl: string,
  cid: number,
): Promise<void> {
  const pending = book.wait("client-pending-auth", cid);
  server.send({ cid, kid: 1, text: clientBlock("CONNECT", cid, 1) });
  const url = /"WEB_AUTH::([^"]+)"/.exec((await pending).line)?.[1];
  if (!url) throw new Error(`No login URL for cid ${cid}`);
  const authorized = book.wait("client-auth", cid);
  const final = await bridgeLoginOverHttp(url, baseUrl, "alice", "alice-password");
  if (final.status !== 200) throw new Error(`Callback answered ${final.status}`);
  await authorized;
}

interface LevelRun {
  concurrency: number;
  logins: number;
  elapsedMs: number;
  loginsPerSec: number;
  bridgeCpuMsPerLogin: number;
  bridgeSysMsPerLogin: number;
  idpCpuMsPerLogin: number;
}

export async function fullLogins(options: FullLoginOptions) {
  const httpPort = await freePort();
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const idp = await startIdpProcess(`${baseUrl}/oauth2/callback`);
  const server = await LoadServer.start();
  const book = new AnswerBook(server);
  const dir = mkdtempSync(join(tmpdir(), "bench-b3-"));
  const configPath = join(dir, "bench.toml");
  writeFileSync(
    configPath,
    benchConfigToml({
      management: server.address,
      httpPort,
      issuer: idp.issuer,
      clientSecret: IDP_CLIENT_SECRET,
      backend: options.backend,
      storePath: join(dir, "sessions.sqlite"),
    }),
  );
  const ready = server.waitForLine((line) => line === "status 3", 60_000);
  const bridge = startChild(DENO, ["run", "-A", ...profileFlags(), MAIN, "--config", configPath]);
  const runs: LevelRun[] = [];
  try {
    await ready;
    let nextCid = 0;
    const batch = async (concurrency: number, logins: number) => {
      let started = 0;
      const worker = async () => {
        while (started < logins) {
          started++;
          await oneLogin(server, book, baseUrl, nextCid++);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    };
    await batch(4, 20); // warm-up: JIT, discovery, keys
    for (let run = 0; run < options.runs; run++) {
      for (const concurrency of options.concurrency) {
        const logins = options.loginsPerLevel(concurrency);
        const bridgeBefore = cpuMs(bridge.pid);
        const bridgeSysBefore = cpuTimes(bridge.pid).sysMs;
        const idpBefore = cpuMs(idp.child.pid);
        const start = performance.now();
        await batch(concurrency, logins);
        const elapsedMs = performance.now() - start;
        const result = {
          concurrency,
          logins,
          elapsedMs,
          loginsPerSec: logins / (elapsedMs / 1000),
          bridgeCpuMsPerLogin: (cpuMs(bridge.pid) - bridgeBefore) / logins,
          bridgeSysMsPerLogin: (cpuTimes(bridge.pid).sysMs - bridgeSysBefore) / logins,
          idpCpuMsPerLogin: (cpuMs(idp.child.pid) - idpBefore) / logins,
        };
        runs.push(result);
        console.log(
          `  B3 ${options.backend} run ${run + 1}/${options.runs} concurrency ${concurrency}: ` +
            `${result.loginsPerSec.toFixed(1)} logins/s`,
        );
      }
    }
  } finally {
    await bridge.stop();
    await idp.child.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const summaries = options.concurrency.map((concurrency) => {
    const level = runs.filter((r) => r.concurrency === concurrency);
    const bridgeCpu = median(level.map((r) => r.bridgeCpuMsPerLogin));
    const idpCpu = median(level.map((r) => r.idpCpuMsPerLogin));
    return {
      concurrency,
      loginsPerSec: median(level.map((r) => r.loginsPerSec)),
      bridgeCpuMsPerLogin: bridgeCpu,
      bridgeSysMsPerLogin: median(level.map((r) => r.bridgeSysMsPerLogin)),
      idpCpuMsPerLogin: idpCpu,
      bridgeToIdpCpu: median(level.map((r) => r.bridgeCpuMsPerLogin / r.idpCpuMsPerLogin)),
    };
  });
  writeResult(`b3_full_logins_${options.backend}`, {
    scenario: "Full logins",
    backend: options.backend,
    summaries,
    runs,
  });
  printTable(
    `B3 full logins (bridge: deno run src/main.ts, ${options.backend} store; ` +
      `IdP: tests/support/idp, in-memory; ` +
      `median of ${options.runs})`,
    summaries.map((s) => ({
      concurrency: s.concurrency,
      "logins/s": round(s.loginsPerSec),
      "bridge CPU ms/login": round(s.bridgeCpuMsPerLogin),
      "of which sys": round(s.bridgeSysMsPerLogin),
      "IdP CPU ms/login": round(s.idpCpuMsPerLogin),
      "bridge / IdP CPU": round(s.bridgeToIdpCpu),
    })),
  );
  const goals = summaries.map((s) => ({
    goal: `${options.backend} store, concurrency ${s.concurrency}: bridge CPU <= 1/3 of IdP's`,
    measured: round(s.bridgeToIdpCpu),
    result: verdict(s.bridgeToIdpCpu <= 1 / 3),
  }));
  printTable("B3 goals", goals);
  return { summaries, goals };
}
