/**
 * The released binary runs on Bun, whose allocator (mimalloc) hands memory back to the kernel
 * soon after it is freed and takes page faults to use it again. A REAUTH storm frees and
 * allocates all the time: with the default, the bridge spent about 2.5 times the CPU per REAUTH
 * it spends with `MIMALLOC_PURGE_DELAY=-1` (keep freed memory for reuse), for about 17% more
 * resident memory per session (bench/README.md, "Bun's allocator"). Larger purge delays gained
 * little: only -1 keeps the pages. mimalloc reads its settings from the environment
 * once, before any of our code runs, so the process sets the variable and replaces itself with
 * the same program (execve: same pid, same open descriptors, nothing started yet). A value the
 * environment already has, even mimalloc's default, is left as it is.
 */
import { printable } from "./printable_text.ts";
import { errorText } from "./error_text.ts";

export const PURGE_DELAY_VARIABLE = "MIMALLOC_PURGE_DELAY";
/** What the binary sets; the bench gives it to every Bun child alike. */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = { [PURGE_DELAY_VARIABLE]: "-1" };

export interface ProcessView {
  execPath: string;
  /** As Node's `process.argv`: the runtime, the script (in a compiled binary its bundled name). */
  argv: readonly string[];
  /** Runtime flags the process was started with (`bun --smol main.ts`). */
  execArgv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

export interface Restart {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** How to start this process again with the allocator setting, or undefined if not needed. */
export function allocatorRestart(proc: ProcessView, onBun: boolean): Restart | undefined {
  if (!onBun || proc.env[PURGE_DELAY_VARIABLE] !== undefined) return undefined;
  // A compiled binary's argv[1] names its bundled entry ("/$bunfs/root/..."): the binary
  // itself is the program. Otherwise argv[1] is the script Bun runs.
  const compiled = proc.argv[1]?.startsWith("/$bunfs/") === true;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(proc.env)) {
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, ALLOCATOR_ENV);
  return {
    file: proc.execPath,
    args: [proc.execPath, ...proc.execArgv, ...proc.argv.slice(compiled ? 2 : 1)],
    env,
  };
}

/** `process.execve` as Node and Bun have it: never returns, or throws. */
export type Execve = (file: string, args: string[], env: Record<string, string>) => never;

/**
 * Replaces the process with `restart`. The setting only saves CPU, so an execve that fails (the
 * binary replaced or removed since it started, a binary for another CPU run through an emulator
 * that leaves the execve to the kernel) must not stop the service: it runs on as it is, and
 * `warn` gets one line saying why.
 */
export function restartWithAllocatorSetting(
  restart: Restart,
  execve: Execve,
  warn: (line: string) => void,
): void {
  try {
    execve(restart.file, restart.args, restart.env);
  } catch (error) {
    const why = printable(errorText(error));
    warn(
      `openvpn-auth-oidc: running without ${PURGE_DELAY_VARIABLE}=-1 (starting again with it ` +
        `failed: ${why}); set it in the environment to skip the restart\n`,
    );
  }
}
