/**
 * B3: full logins. For each login the load generator sends a CONNECT (as OpenVPN), takes the
 * login URL from `client-pending-auth`, plays the browser over HTTP (login page, confirm form,
 * the IdP's login form, the callback) and waits for `client-auth`. The bridge
 * (`deno run src/main.ts`) and the IdP run as separate processes so that each one's CPU time
 * can be read from /proc.
 *
 * The reference relying party (lib/reference_rp.ts, its own IdP process) is logged in by the
 * same browser at each level right after the bridge, so noise hits both alike: bridge CPU per
 * login over the reference RP's is the figure that matters. With `pbkdf2Iterations` the IdPs
 * check passwords like Keycloak, and the bridge's share of all CPU per login is reported.
 */
import { freePort } from "../../tests/support/free_port.ts";
import { bridgeLoginOverHttp } from "../../tests/support/bridge_browser.ts";
import { writeBenchConfig } from "../lib/bridge_config.ts";
import { clientBlock } from "../lib/client_env.ts";
import { type Answer, LoadServer } from "../lib/load_server.ts";
import { dirname, fromFileUrl, join } from "../lib/paths.ts";
import {
  BUN,
  BUN_ENV,
  cpuMsSince,
  cpuTimes,
  DENO,
  mainThreadCpuMs,
  profileFlags,
  readCpu,
  startChild,
} from "../lib/proc.ts";
import { printTable, verdict, writeResult } from "../lib/report.ts";
import { DENO_V8_FLAGS_ARGUMENT } from "../../src/deno_v8_flags.ts";
import { removeDirs } from "../lib/scratch.ts";
import { median, round } from "../lib/stats.ts";
import { IDP_CLIENT_SECRET, startIdpProcess } from "./idp_child.ts";
import { BINARY } from "./memory_startup.ts";

const MAIN = join(dirname(fromFileUrl(import.meta.url)), "..", "..", "src/main.ts");
const REFERENCE_RP = join(dirname(fromFileUrl(import.meta.url)), "..", "lib", "reference_rp.ts");

export interface FullLoginOptions {
  concurrency: number[];
  /** Logins per concurrency level and run. */
  loginsPerLevel: (concurrency: number) => number;
  runs: number;
  backend: "memory" | "file";
  /** IdPs hash passwords with PBKDF2-SHA512 of this many iterations; 0: plain compare. */
  pbkdf2Iterations?: number;
  /** Logins of each side before anything is measured (200 by default). */
  warmUpLogins?: number;
  /**
   * "deno": the bridge is `deno run src/main.ts`, the reference RP runs on Deno. "binary": the
   * released binary (dist/, built by Bun), the reference RP on Bun.
   */
  runtime?: "deno" | "binary";
}

/**
 * `deno run src/main.ts`, or the binary; profiled, the sources on Bun instead of the binary,
 * which takes no runtime flags.
 */
function bridgeCommand(
  runtime: "deno" | "binary",
  configPath: string,
): [string, string[], Record<string, string>] {
  const config = ["--config", configPath];
  if (runtime === "deno") {
    return [DENO, ["run", "-A", DENO_V8_FLAGS_ARGUMENT, ...profileFlags(), MAIN, ...config], {}];
  }
  if (profileFlags().length > 0) return [BUN, [...profileFlags(), MAIN, ...config], BUN_ENV];
  return [BINARY, config, {}];
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
  rpCpuMsPerLogin: number;
  rpIdpCpuMsPerLogin: number;
  /** The main thread alone (JavaScript, the event loop, its system calls). */
  bridgeMainMsPerLogin: number;
  rpMainMsPerLogin: number;
}

/** Logs in `logins` times, `concurrency` at a time. */
async function inParallel(concurrency: number, logins: number, login: () => Promise<void>) {
  let started = 0;
  const worker = async () => {
    while (started < logins) {
      started++;
      await login();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * CPU per login of each process over one call of `body`, and of the first process's main
 * thread alone.
 */
async function cpuPerLogin(pids: number[], logins: number, body: () => Promise<void>) {
  const before = pids.map(readCpu);
  const mainBefore = mainThreadCpuMs(pids[0]!);
  await body();
  return {
    perProcess: before.map((reading) => cpuMsSince(reading) / logins),
    mainThread: (mainThreadCpuMs(pids[0]!) - mainBefore) / logins,
  };
}

export async function fullLogins(options: FullLoginOptions) {
  const httpPort = await freePort();
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const iterations = options.pbkdf2Iterations ?? 0;
  const idp = await startIdpProcess(`${baseUrl}/oauth2/callback`, iterations);
  const rpPort = await freePort();
  const rpBase = `http://127.0.0.1:${rpPort}`;
  const rpIdp = await startIdpProcess(`${rpBase}/oauth2/callback`, iterations);
  const runtime = options.runtime ?? "deno";
  const rpArgs = [REFERENCE_RP, rpIdp.issuer, String(rpPort), IDP_CLIENT_SECRET];
  const rp = runtime === "binary"
    ? startChild(BUN, [...profileFlags(), ...rpArgs], BUN_ENV)
    : startChild(DENO, ["run", "-A", ...profileFlags(), ...rpArgs]);
  const rpReady = rp.waitForOutput((line) => line === "ready", 60_000);
  const server = await LoadServer.start();
  const book = new AnswerBook(server);
  const { dir, configPath } = writeBenchConfig("bench-b3-", {
    management: server.address,
    httpPort,
    issuer: idp.issuer,
    clientSecret: IDP_CLIENT_SECRET,
    backend: options.backend,
  });
  const ready = server.waitForLine((line) => line === "status 3", 60_000);
  const bridge = startChild(...bridgeCommand(runtime, configPath));
  const runs: LevelRun[] = [];
  try {
    await ready;
    await rpReady;
    let nextCid = 0;
    const bridgeLogin = () => oneLogin(server, book, baseUrl, nextCid++);
    let nextRp = 0;
    const rpLogin = async () => {
      const final = await bridgeLoginOverHttp(
        `${rpBase}/login/${nextRp++}`,
        rpBase,
        "alice",
        "alice-password",
      );
      if (final.status !== 200) throw new Error(`Reference RP callback answered ${final.status}`);
    };
    // Warm-up: discovery, keys, and the JIT. The bridge runs far more code per login than the
    // reference RP, which V8 takes a few hundred logins to optimize: with 20 warm-up logins, the
    // first level measured (concurrency 1) paid for it.
    const warmUp = options.warmUpLogins ?? 200;
    await inParallel(4, warmUp, bridgeLogin);
    await inParallel(4, warmUp, rpLogin);
    for (let run = 0; run < options.runs; run++) {
      for (const concurrency of options.concurrency) {
        const logins = options.loginsPerLevel(concurrency);
        const bridgeSysBefore = cpuTimes(bridge.pid).sysMs;
        const start = performance.now();
        const bridgeSide = await cpuPerLogin(
          [bridge.pid, idp.child.pid],
          logins,
          () => inParallel(concurrency, logins, bridgeLogin),
        );
        const [bridgeCpu, idpCpu] = bridgeSide.perProcess;
        const elapsedMs = performance.now() - start;
        const bridgeSys = (cpuTimes(bridge.pid).sysMs - bridgeSysBefore) / logins;
        const rpSide = await cpuPerLogin(
          [rp.pid, rpIdp.child.pid],
          logins,
          () => inParallel(concurrency, logins, rpLogin),
        );
        const [rpCpu, rpIdpCpu] = rpSide.perProcess;
        const result: LevelRun = {
          concurrency,
          logins,
          elapsedMs,
          loginsPerSec: logins / (elapsedMs / 1000),
          bridgeCpuMsPerLogin: bridgeCpu!,
          bridgeSysMsPerLogin: bridgeSys,
          idpCpuMsPerLogin: idpCpu!,
          rpCpuMsPerLogin: rpCpu!,
          rpIdpCpuMsPerLogin: rpIdpCpu!,
          bridgeMainMsPerLogin: bridgeSide.mainThread,
          rpMainMsPerLogin: rpSide.mainThread,
        };
        runs.push(result);
        console.log(
          `  B3 ${options.backend} run ${run + 1}/${options.runs} concurrency ${concurrency}: ` +
            `${result.loginsPerSec.toFixed(1)} logins/s, bridge ${round(bridgeCpu!)} ms, ` +
            `reference RP ${round(rpCpu!)} ms CPU/login`,
        );
      }
    }
  } finally {
    await bridge.stop();
    await idp.child.stop();
    await rp.stop();
    await rpIdp.child.stop();
    await server.stop();
    removeDirs(dir);
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
      rpCpuMsPerLogin: median(level.map((r) => r.rpCpuMsPerLogin)),
      bridgeMainMsPerLogin: median(level.map((r) => r.bridgeMainMsPerLogin)),
      rpMainMsPerLogin: median(level.map((r) => r.rpMainMsPerLogin)),
      bridgeToRpCpu: median(level.map((r) => r.bridgeCpuMsPerLogin / r.rpCpuMsPerLogin)),
      bridgeShareOfTotal: median(
        level.map((r) => r.bridgeCpuMsPerLogin / (r.bridgeCpuMsPerLogin + r.idpCpuMsPerLogin)),
      ),
    };
  });
  const label = `${options.backend}${iterations ? `_pbkdf2_${iterations}` : ""}${
    runtime === "binary" ? "_binary" : ""
  }`;
  writeResult(`b3_full_logins_${label}`, {
    scenario: "Full logins",
    runtime,
    backend: options.backend,
    pbkdf2Iterations: iterations,
    summaries,
    runs,
  });
  printTable(
    `B3 full logins (bridge: ${
      runtime === "binary" ? "the binary, reference RP on Bun" : "deno run src/main.ts"
    }, ${options.backend} store; ` +
      `IdP: tests/support/idp, in-memory, ${
        iterations ? `PBKDF2-SHA512 ${iterations} iterations` : "plain password compare"
      }; ` +
      `median of ${options.runs})`,
    summaries.map((s) => ({
      concurrency: s.concurrency,
      "logins/s": round(s.loginsPerSec),
      "bridge CPU ms/login": round(s.bridgeCpuMsPerLogin),
      "of which sys": round(s.bridgeSysMsPerLogin),
      "IdP CPU ms/login": round(s.idpCpuMsPerLogin),
      "bridge / IdP CPU": round(s.bridgeToIdpCpu),
      "bridge share of bridge+IdP CPU": round(s.bridgeShareOfTotal),
      "reference RP CPU ms/login": round(s.rpCpuMsPerLogin),
      "bridge / reference RP CPU": round(s.bridgeToRpCpu),
      "main thread ms/login, bridge / RP": `${round(s.bridgeMainMsPerLogin)} / ${
        round(s.rpMainMsPerLogin)
      }`,
    })),
  );
  // With a Keycloak-like IdP the bridge's share of all CPU per login is the figure asked
  // for (a few logins only: each costs the IdP ~150 ms), not a ratio to the reference RP.
  const goals = summaries.map((s) =>
    iterations
      ? {
        goal: `${label} store, concurrency ${s.concurrency}: bridge share of bridge + IdP CPU`,
        measured: round(s.bridgeShareOfTotal),
        result: "reported",
      }
      : {
        goal: `${label} store, concurrency ${s.concurrency}: bridge CPU <= 1.5 x reference RP's`,
        measured: round(s.bridgeToRpCpu),
        result: verdict(s.bridgeToRpCpu <= 1.5),
      }
  );
  printTable("B3 goals", goals);
  return { summaries, goals };
}
