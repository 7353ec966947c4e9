/**
 * The usual `process_*` metrics, read at scrape time: CPU seconds, resident memory, start
 * time, open and maximum file descriptors. The descriptor counts come from /proc (Linux) and
 * are left out where it does not exist.
 */
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { CounterFamily, GaugeFamily, type Registry } from "./exposition.ts";

export function registerProcessMetrics(registry: Registry): void {
  const cpu = registry.register(
    new CounterFamily("process_cpu_seconds_total", "Total user and system CPU time in seconds."),
  ).labels();
  const rss = registry.register(
    new GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes."),
  ).labels();
  const start = registry.register(
    new GaugeFamily(
      "process_start_time_seconds",
      "Start time of the process since the Unix epoch in seconds.",
    ),
  ).labels();
  start.set(Math.round(Date.now() / 1000 - process.uptime()));
  const hasProc = readOpenFds() !== undefined;
  const openFds = hasProc
    ? registry.register(new GaugeFamily("process_open_fds", "Number of open file descriptors."))
      .labels()
    : undefined;
  const maxFds = hasProc
    ? registry.register(
      new GaugeFamily("process_max_fds", "Maximum number of open file descriptors."),
    ).labels()
    : undefined;

  let lastCpuSeconds = 0;
  // Not the CPU counter: it only ever adds what was read, so its value is never made up.
  const gauges = [rss, openFds, maxFds].filter((gauge) => gauge !== undefined);
  registry.onCollect("process", () => {
    const usage = process.cpuUsage();
    const seconds = (usage.user + usage.system) / 1e6;
    cpu.inc(seconds - lastCpuSeconds);
    lastCpuSeconds = seconds;
    rss.set(process.memoryUsage.rss());
    const open = readOpenFds();
    if (open !== undefined) openFds?.set(open);
    const max = readMaxFds();
    if (max !== undefined) maxFds?.set(max);
  }, gauges);
}

function readOpenFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

function readMaxFds(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+)/m.exec(limits);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
