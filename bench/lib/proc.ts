/** Child processes for the bench: spawn, read CPU time and RSS from /proc, stop by pid. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { ALLOCATOR_ENV } from "../../src/allocator_restart.ts";

/** The Deno that runs the bench runs the children too. */
export const DENO = process.execPath;
/** Bun, for children on the released binary's runtime (BUN from the Makefile, else on PATH). */
export const BUN = process.env["BUN"] ?? "bun";
/**
 * The environment of every Bun child: the allocator setting the binary gives itself at start
 * (src/allocator_restart.ts), so sources on Bun run as the binary does, bridge and references
 * alike.
 */
export const BUN_ENV: Readonly<Record<string, string>> = ALLOCATOR_ENV;

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far (for error messages). */
  output(): string;
  /** Resolves with the first stdout line that passes `test`. */
  waitForOutput(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function startChild(command: string, args: string[], env: Record<string, string> = {}) {
  const proc = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  if (proc.pid === undefined) throw new Error(`Could not start ${command}`);
  let text = "";
  const listeners = new Set<(line: string) => void>();
  let partial = "";
  proc.stdout?.setEncoding("utf8");
  proc.stderr?.setEncoding("utf8");
  proc.stdout?.on("data", (chunk: string) => {
    text += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  proc.stderr?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const child: Child = {
    proc,
    pid: proc.pid,
    output: () => text,
    waitForOutput(test, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`Child ${command} printed no expected line: ${text.slice(-2000)}`));
        }, timeoutMs);
        const listener = (line: string) => {
          if (!test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  return child;
}

/**
 * `deno run` flags for a bridge child (and B3's reference RP): with BENCH_PROFILE_DIR set, the
 * child writes a V8 CPU profile there (read it with bench/tools/profile_top.ts).
 */
export function profileFlags(): string[] {
  const dir = process.env["BENCH_PROFILE_DIR"];
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** User and system CPU time of a process so far, in ms (from /proc/<pid>/stat). */
export function cpuTimes(pid: number): { userMs: number; sysMs: number } {
  return statTimes(`/proc/${pid}/stat`);
}

/**
 * CPU time of a process's main thread alone (the thread with the process's id: JavaScript and
 * the event loop), without the runtime's worker threads (GC, JIT, I/O pools), in ms.
 */
export function mainThreadCpuMs(pid: number): number {
  const { userMs, sysMs } = statTimes(`/proc/${pid}/task/${pid}/stat`);
  return userMs + sysMs;
}

function statTimes(path: string): { userMs: number; sysMs: number } {
  const stat = readFileSync(path, "utf8");
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS,
    sysMs: (Number(fields[12]) * 1000) / CLOCK_TICKS,
  };
}

/** User + system CPU time of a process so far, in ms. */
export function cpuMs(pid: number): number {
  const { userMs, sysMs } = cpuTimes(pid);
  return userMs + sysMs;
}

/** Linux's USER_HZ is 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) : NaN;
}
