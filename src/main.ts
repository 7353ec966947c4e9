/**
 * Entry point: wires the CLI to the real process (stdout, stderr, files, environment, signals)
 * and the real service. Runs unchanged on Deno and Bun. On Bun it first starts itself again
 * with the allocator setting of allocator_restart.ts, before the rest of the program is loaded.
 */
import { readFileSync, statSync } from "node:fs";
import process from "node:process";
import { allocatorRestart, type Execve, restartWithAllocatorSetting } from "./allocator_restart.ts";
import { cliStderrLines, prefixLines, PRIORITY, stderrIsJournal } from "./journal_stream.ts";
import { writeAllSync } from "./write_all_sync.ts";

// Under systemd each line says its priority to journald (journal_stream.ts); the log does so
// itself (log.ts), these are the lines written here.
const journal = stderrIsJournal();
const writeStderr = (text: string) => writeAllSync(2, journal ? cliStderrLines(text) : text);

const restart = allocatorRestart(process, "Bun" in globalThis);
const execve = (process as { execve?: Execve }).execve;
// Without execve (older runtimes) the service runs on, only slower.
if (restart !== undefined && execve !== undefined) {
  restartWithAllocatorSetting(
    restart,
    execve.bind(process),
    (line) => writeAllSync(2, journal ? prefixLines(line, () => PRIORITY.warning) : line),
  );
}

const { EXIT_RUNTIME, runCli } = await import("./cli.ts");
const { startDaemon } = await import("./daemon.ts");
// Log lines wait for the end of their turn (log.ts): they go out before anything written here.
const { flushLogs } = await import("./log.ts");

const io = {
  out: (text: string) => writeAllSync(1, text),
  err: (text: string) => {
    flushLogs();
    writeStderr(text);
  },
  readTextFile: (path: string) => readFileSync(path, "utf8"),
  fileMode: (path: string) => statSync(path).mode,
  env: process.env,
  startService: startDaemon,
  onShutdownSignal(handler: (signal: string) => void) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => handler(signal));
    }
  },
  onReloadSignal(handler: () => Promise<void>) {
    process.on("SIGHUP", () => void handler());
  },
};

try {
  process.exitCode = await runCli(process.argv.slice(2), io);
} catch (error) {
  flushLogs();
  writeStderr(`openvpn-auth-oidc: unexpected error: ${(error as Error).stack ?? error}\n`);
  process.exitCode = EXIT_RUNTIME;
}
// Some libraries keep timers or sockets alive; the service has already closed its own.
process.exit(process.exitCode);
