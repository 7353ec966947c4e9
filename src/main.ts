/**
 * Entry point: wires the CLI to the real process (stdout, stderr, files, environment, signals)
 * and the real service. Runs unchanged on Deno and Bun. On Bun it first starts itself again
 * with the allocator setting of allocator_restart.ts, before the rest of the program is loaded.
 */
import { readFileSync, statSync } from "node:fs";
import process from "node:process";
import { allocatorRestart, type Execve, restartWithAllocatorSetting } from "./allocator_restart.ts";
import { writeAllSync } from "./write_all_sync.ts";

const restart = allocatorRestart(process, "Bun" in globalThis);
const execve = (process as { execve?: Execve }).execve;
// Without execve (older runtimes) the service runs on, only slower.
if (restart !== undefined && execve !== undefined) {
  restartWithAllocatorSetting(restart, execve.bind(process), (line) => writeAllSync(2, line));
}

const { EXIT_RUNTIME, runCli } = await import("./cli.ts");
const { startDaemon } = await import("./daemon.ts");
// Log lines wait for the end of their turn (log.ts): they go out before anything written here.
const { flushLogs } = await import("./log.ts");

const io = {
  out: (text: string) => writeAllSync(1, text),
  err: (text: string) => {
    flushLogs();
    writeAllSync(2, text);
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
  writeAllSync(2, `openvpn-auth-oidc: unexpected error: ${(error as Error).stack ?? error}\n`);
  process.exitCode = EXIT_RUNTIME;
}
// Some libraries keep timers or sockets alive; the service has already closed its own.
process.exit(process.exitCode);
