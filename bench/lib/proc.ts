/** Child processes for the bench: spawn, read CPU time and RSS from /proc, stop by pid. */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  const perfDir = process.env["BENCH_PERF_DIR"];
  if (perfDir && command === DENO && args[0] === "run") {
    // Names the JIT's frames for perf (a map file in /tmp per process).
    args = ["run", "--v8-flags=--perf-basic-prof", ...args.slice(1)];
  }
  // stderr goes to a file, not a pipe: a bridge in a storm logs a line per client (audit), and
  // a pipe that this busy process drains late blocked the child's synchronous writes, so the
  // bench measured its own reading. The file is read only for error messages.
  const stderrDir = mkdtempSync(join(tmpdir(), "bench-child-"));
  const stderrPath = join(stderrDir, "stderr");
  const stderrFd = openSync(stderrPath, "w");
  const proc = spawn(command, args, {
    stdio: ["ignore", "pipe", stderrFd],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  closeSync(stderrFd);
  if (proc.pid === undefined) throw new Error(`Could not start ${command}`);
  let text = "";
  const listeners = new Set<(line: string) => void>();
  let partial = "";
  proc.stdout?.setEncoding("utf8");
  proc.stdout?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-20_000);
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) for (const listener of listeners) listener(line);
  });
  /** The end of stdout and of stderr, for error messages. */
  const output = () => {
    let stderr = "";
    try {
      stderr = readFileSync(stderrPath, "utf8").slice(-20_000);
    } catch {
      // Removed after the child ended.
    }
    return `${text}${stderr}`;
  };
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const perf = perfDir ? recordCpu(perfDir, command, args, proc.pid) : undefined;
  const child: Child = {
    proc,
    pid: proc.pid,
    output,
    waitForOutput(test, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`Child ${command} printed no expected line: ${output().slice(-2000)}`));
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
      // Kept until then: a child that ended on its own is explained by what it wrote.
      const removeStderr = () => rmSync(stderrDir, { recursive: true, force: true });
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await perf;
        return removeStderr();
      }
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      // perf ends with the process it follows; its file is whole once it has.
      await perf;
      removeStderr();
    },
  };
  return child;
}

/**
 * With BENCH_PERF_DIR set, `perf record` follows every child on the CPU clock (999 samples a
 * second of CPU, with call chains) into `DIR/<folder>_<script>-<pid>.data`; read it with
 * bench/tools/perf_owners.ts. Resolves when perf has written its file.
 */
function recordCpu(dir: string, command: string, args: string[], pid: number): Promise<void> {
  const script = args.find((arg) => /\.(ts|js)$/.test(arg)) ?? command;
  // "src_main", "idp_main", "lib_reference_rp": the script and its folder.
  const name = script.split("/").slice(-2).join("_").replace(/\.(ts|js)$/, "");
  const perf = spawn("perf", [
    "record",
    "--quiet",
    "-e",
    "cpu-clock",
    "-F",
    "999",
    "-g",
    "-p",
    String(pid),
    "-o",
    join(dir, `${name}-${pid}.data`),
  ], { stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve) => {
    perf.once("exit", () => resolve());
    perf.once("error", (error) => {
      console.error(`BENCH_PERF_DIR: perf did not start (${error.message})`);
      resolve();
    });
  });
}

/**
 * `deno run` flags for a bridge child (and B3's reference RP): with BENCH_PROFILE_DIR set, the
 * child writes a V8 CPU profile there (read it with bench/tools/profile_top.ts). It samples
 * wall time; for CPU time see BENCH_PERF_DIR (`recordCpu`).
 */
export function profileFlags(): string[] {
  const dir = process.env["BENCH_PROFILE_DIR"];
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/**
 * User and system CPU time of a process so far, in ms (from /proc/<pid>/stat), in 10 ms ticks:
 * fine for the split between the two over many events, too coarse for a storm's total (see
 * `readCpu`).
 */
export function cpuTimes(pid: number): { userMs: number; sysMs: number } {
  return statTimes(`/proc/${pid}/stat`);
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

/**
 * A process's CPU time per thread, to the nanosecond: the scheduler's run time of each thread
 * (user and system alike), the first field of /proc/<pid>/task/<tid>/schedstat. /proc/<pid>/stat
 * counts in 10 ms ticks, and a reference responder's storm of 10,000 events is 70-90 ms of CPU:
 * a tick more or less moved its CPU per event, and every ratio to it, by up to 14%.
 */
export interface CpuReading {
  readonly pid: number;
  /** Run time in ns, by thread id. */
  readonly threads: ReadonlyMap<string, number>;
  /** The tick count, which keeps the time of threads that have ended. */
  readonly ticksMs: number;
}

export function readCpu(pid: number): CpuReading {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const ns = threadRunNs(pid, tid);
    if (ns !== undefined) threads.set(tid, ns);
  }
  const { userMs, sysMs } = cpuTimes(pid);
  return { pid, threads, ticksMs: userMs + sysMs };
}

/**
 * CPU time of `before`'s process since that reading, in ms. A thread that ended in between took
 * its run time with it: then the figure is the tick count's, coarse but complete. The process's
 * tick count is its threads' run time cut to ticks, so a sum that falls more than two ticks short
 * of it missed a thread that started and ended in between: the ticks then too.
 */
export function cpuMsSince(before: CpuReading): number {
  const after = readCpu(before.pid);
  const ticksMs = after.ticksMs - before.ticksMs;
  let ns = 0;
  for (const [tid, then] of before.threads) {
    const now = after.threads.get(tid);
    if (now === undefined) return ticksMs;
    ns += now - then;
  }
  // Threads started since: all their run time is in between.
  for (const [tid, now] of after.threads) if (!before.threads.has(tid)) ns += now;
  const ms = ns / 1e6;
  return ticksMs - ms > 2 * TICK_MS ? ticksMs : ms;
}

/**
 * CPU time of a process's main thread alone (the thread with the process's id: JavaScript and
 * the event loop), without the runtime's worker threads (GC, JIT, I/O pools), in ms (to the ns).
 */
export function mainThreadCpuMs(pid: number): number {
  const ns = threadRunNs(pid, String(pid));
  if (ns === undefined) throw new Error(`No process ${pid}`);
  return ns / 1e6;
}

/** A thread's run time in ns, or undefined when it has ended. */
function threadRunNs(pid: number, tid: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return Number(text.slice(0, text.indexOf(" ")));
}

/** Linux's USER_HZ is 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;
const TICK_MS = 1000 / CLOCK_TICKS;

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) : NaN;
}
