/**
 * CPU the kernel's DAMON threads (`kdamond.N`) take during a measured run. On the machines
 * the bench was written on, the kernel samples physical memory for proactive reclaim (DAMON,
 * `paddr` operations with a `pageout` scheme, sampling every 0.5 s): kdamond runs 4-13 ms every
 * ~512 ms on one of the two cores, and whatever ran there waits. Paced runs showed it as a burst
 * of 4-8 slow answers every 512 ms (time-based: 256 events apart at 500/s, 512 at 1,000/s), the
 * longest ones as `perf sched` showed kdamond running. It is the machine's, not a
 * responder's: the bench reports it beside the paced latencies instead of leaving it unnamed.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface KernelNoise {
  /** CPU the threads took, in ms. */
  ms: number;
  /** How many times they were scheduled to run. */
  runs: number;
}

/** Starts watching; the returned function says what the DAMON threads took since. */
export function watchKernelNoise(): () => KernelNoise {
  const before = readDamonThreads();
  return () => {
    const after = readDamonThreads();
    let ns = 0;
    let runs = 0;
    for (const [pid, now] of after) {
      const then = before.get(pid) ?? { ns: 0, runs: 0 };
      ns += now.ns - then.ns;
      runs += now.runs - then.runs;
    }
    return { ms: ns / 1e6, runs };
  };
}

/** Run time (ns) and times scheduled of each kdamond thread, by pid. */
function readDamonThreads(): Map<string, { ns: number; runs: number }> {
  const threads = new Map<string, { ns: number; runs: number }>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("kdamond")) continue;
      // schedstat: time on the CPU (ns), time waiting to run (ns), timeslices run.
      const [ns = "0", , runs = "0"] = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ");
      threads.set(pid, { ns: Number(ns), runs: Number(runs) });
    } catch {
      // The process ended while we looked: it was not a kernel thread.
    }
  }
  return threads;
}
