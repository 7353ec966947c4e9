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

/** Starts watching; the returned function says how many ms of CPU the DAMON threads took since. */
export function watchKernelNoise(): () => number {
  const before = readDamonThreads();
  return () => {
    let ns = 0;
    for (const [pid, now] of readDamonThreads()) ns += now - (before.get(pid) ?? 0);
    return ns / 1e6;
  };
}

/** Run time (ns) of each kdamond thread, by pid. */
function readDamonThreads(): Map<string, number> {
  const threads = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("kdamond")) continue;
      // schedstat starts with the time on the CPU, in ns.
      const schedstat = readFileSync(`/proc/${pid}/schedstat`, "utf8");
      threads.set(pid, Number(schedstat.slice(0, schedstat.indexOf(" "))));
    } catch {
      // The process ended while we looked: it was not a kernel thread.
    }
  }
  return threads;
}
