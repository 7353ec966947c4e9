/**
 * Command-line interface: argument parsing, help, and mapping outcomes to exit codes
 * (0 success, 2 usage or configuration error, 1 runtime failure). Everything the commands
 * touch comes in through `CliIo`, so tests drive the CLI in process, except the files the
 * service reads at start: check-config reads those from the file system with the service's own
 * loaders (probe/start_files.ts).
 */
import { parseArgs } from "node:util";
import { stringify } from "smol-toml";
import { ConfigError, type ConfigIssue, placeOf } from "./config_loader/errors.ts";
import {
  loadConfigFile,
  loadControlSocket,
  type LoadDeps,
  type LoadedConfig,
} from "./config_loader/load.ts";
import type { ResolvedConfig } from "./config/types.ts";
import { WARNING_LINE } from "./journal_stream.ts";
import { getLogger, type Logger, words } from "./log.ts";
import { VERSION } from "./version.ts";
import { ADMIN_HELP, CONFIG_OPTION, runAdminCommand } from "./control/admin_cli.ts";
import { sendControlRequest } from "./control/client.ts";
import type { ControlRequest, ControlResponse } from "./control/protocol.ts";
import { type CheckResult, formatResults } from "./probe/checks.ts";
import { runProbe } from "./probe/probe.ts";
import { checkStartFiles } from "./probe/start_files.ts";

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
const DEFAULT_CONFIG_PATH = "/etc/openvpn-auth-oidc/server.toml";
const NAME = "openvpn-auth-oidc";

export interface RunningService {
  /** Settles when the service has stopped by itself (rejects on a fatal runtime error). */
  readonly done: Promise<void>;
  /** Stops accepting work, finishes in-flight writes, closes sockets. */
  stop(): Promise<void>;
  /** Puts a new, validated config in force (SIGHUP); `kept` names keys that need a restart. */
  reload?(config: ResolvedConfig): Promise<{ kept: string[] }>;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readTextFile(path: string): string;
  /** A file's mode (`stat`), to warn about secrets other users can read; unset: no check. */
  fileMode?: (path: string) => number;
  env: Record<string, string | undefined>;
  startService(config: ResolvedConfig): Promise<RunningService>;
  /** Calls `handler` once on SIGTERM or SIGINT. */
  onShutdownSignal(handler: (signal: string) => void): void;
  /** Calls `handler` on every SIGHUP; its promise settles when that reload is done. */
  onReloadSignal?(handler: () => Promise<void>): void;
  /** The admin commands' transport (default: the unix control socket). */
  sendControl?: (socketPath: string, request: ControlRequest) => Promise<ControlResponse>;
  /** `check-config --probe` (default: the real probe of OpenVPN, the IdP and base_url). */
  probe?: (config: ResolvedConfig) => Promise<CheckResult[]>;
}

/** The options that may come before any command (the main help's "Options"). */
const GENERAL_OPTIONS = {
  config: CONFIG_OPTION,
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

export const HELP: Record<string, string> = {
  main: `${NAME} ${VERSION}: log OpenVPN users in through an OpenID Connect provider

Usage:
  ${NAME} [--config FILE]                 run the service
  ${NAME} check-config [--config FILE]    validate the config and print it, secrets as ***
  ${NAME} check-config --quiet            validate, print only warnings and problems
  ${NAME} check-config --probe            validate, then try OpenVPN, the IdP and base_url
  ${NAME} sessions list|revoke ...        list or end sessions of the running service
  ${NAME} logins list                     sign-ins in progress in the running service
  ${NAME} help [COMMAND]                  show help for a command
  ${NAME} --version                       print the version

Options:
  -c, --config FILE   configuration file (default: the environment variable
                      OPENVPN_AUTH_OIDC_CONFIG, else ${DEFAULT_CONFIG_PATH})
  -h, --help          show this help
  -V, --version       print the version

Every config key can be overridden by an environment variable
OPENVPN_AUTH_OIDC_<SECTION>_<KEY>, e.g. OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.`,
  run: `Usage: ${NAME} [run] [--config FILE]

Runs the service: connects to the OpenVPN management interface, serves the login pages,
and answers client connections. Stops cleanly on SIGTERM or SIGINT.`,
  "check-config": `Usage: ${NAME} check-config [--config FILE] [--quiet | --probe]

Loads and validates the configuration and reads the files the service reads at start (page
templates, TLS certificate and key, the IdP and Redis CAs), without contacting OpenVPN, the identity
provider or Redis, then prints the resolved configuration (defaults applied) with every secret
shown as ***. Exits 0 when valid, 2 with a list of problems otherwise. With --quiet only the
warnings and problems are printed: the packaged unit's ExecReload runs it so before it signals the
service, and systemctl reload fails for a config the service would refuse.

With --probe it also contacts everything the service needs and prints one line per check, ok,
warn or FAIL, with a fix for each warn and FAIL: each OpenVPN management interface (password,
version), the IdP's discovery document and signing keys, whether the IdP accepts the redirect
URI <base_url>/oauth2/callback, whether its token endpoint accepts the client's credentials
(one grant with a made-up code), whether <base_url>/healthz reaches http.listen (when the
service is not running, the probe answers there itself for a moment; a path in base_url that
reaches http.listen fails), whether [metrics] listen can be bound, the session store as the
service opens it at start (file: sessions.path's directory can be written or created, its
files read and written, its owner lock free or held by the running service; Redis: connect,
authenticate, select the database and PING, a refused password told from a server it cannot
reach), and whether control.socket's directory can be written or created (the packaged unit's
/run/openvpn-auth-oidc, which systemd makes at each start, only warns when missing). When
http.listen is taken, its /healthz tells the running service (then the metrics address and the
session file's lock taken by it are fine) from another program, which fails. A loopback
base_url gets a warn line: other hosts' browsers cannot reach it. The probe creates no file or
directory; run it as the service user. OpenVPN serves one management client at a time: probe
before starting the service, or stop it. Like the service, the probe releases a management
hold. Exits 0 when every check passes (warn lines included), 1 otherwise.`,
};

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { command: first, version } = commandOf(argv);
  // Object.hasOwn, not `in`: "constructor" or "valueOf" are no commands. --version anywhere
  // prints the version, as it does with every other command.
  if (first !== undefined && Object.hasOwn(ADMIN_HELP, first) && !version) {
    return await runAdminCommand(first, argv, {
      out: io.out,
      err: io.err,
      socketPath: (path) => {
        // The socket alone: the rest of the config is the service's (admin_cli.ts).
        const socket = orExit(() => loadControlSocket(path ?? configPathOf(io), loadDeps(io)), io);
        return typeof socket === "number" ? { exit: socket } : { path: socket };
      },
      send: io.sendControl ?? sendControlRequest,
    });
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...GENERAL_OPTIONS, probe: { type: "boolean" }, quiet: { type: "boolean" } },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\nRun '${NAME} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(`${NAME} ${VERSION}\n`);
    return EXIT_OK;
  }
  const [command = "run", ...rest] = positionals;
  if (values.help || command === "help") {
    // Bare --help is the overview every usage error points to; `run --help` is run's own.
    const topic = command === "help"
      ? rest[0] ?? "main"
      : positionals.length === 0
      ? "main"
      : command;
    const text = [HELP, ADMIN_HELP].find((table) => Object.hasOwn(table, topic))?.[topic];
    if (!text) {
      io.err(`Unknown command: "${topic}"\nRun '${NAME} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    io.out(text + "\n");
    return EXIT_OK;
  }
  if (!Object.hasOwn(HELP, command) || command === "main" || rest.length > 0) {
    const what = rest.length > 0
      ? `Unexpected argument: "${rest[0]}"`
      : `Unknown command: "${command}"`;
    io.err(`${what}\nRun '${NAME} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  if (values.probe && command !== "check-config") {
    io.err(`--probe goes with check-config\nRun '${NAME} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  // The probe's lines are its verdict: there is nothing to leave out.
  if (values.quiet && (command !== "check-config" || values.probe)) {
    io.err(`--quiet goes with check-config, without --probe\nRun '${NAME} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  const configPath = values.config ?? configPathOf(io);
  const loaded = loadConfig(configPath, io);
  if (typeof loaded === "number") return loaded;
  if (command === "check-config") {
    for (const warning of loaded.warnings) {
      io.err(`${WARNING_LINE}${warningText(configPath, warning)}\n`);
    }
    // A config whose files the service cannot use at start passes the package's upgrade gate
    // otherwise, and the restart after it fails in a loop.
    const problems = await checkStartFiles(loaded.config);
    if (problems.length > 0) {
      io.err(new ConfigError(configPath, problems).message + "\n");
      return EXIT_USAGE;
    }
  }
  if (command === "check-config" && values.probe) {
    const results = [
      { check: "config", ok: true, detail: `${configPath} is valid` },
      ...await (io.probe ?? runProbe)(loaded.config),
    ];
    io.out(formatResults(results));
    return results.every((result) => result.ok) ? EXIT_OK : EXIT_RUNTIME;
  }
  if (command === "check-config") {
    if (!values.quiet) io.out(`# ${configPath}: valid\n${stringify(loaded.printable)}\n`);
    return EXIT_OK;
  }
  const logWarnings = (warnings: readonly ConfigIssue[]) => {
    const log = getLogger("config");
    for (const warning of warnings) logConfigWarning(log, configPath, warning);
  };
  const reloadConfig = () => {
    const next = loadConfigFile(configPath, loadDeps(io));
    logWarnings(next.warnings);
    warnStartEnvironment(next.overrides);
    return next.config;
  };
  return await runService(loaded.config, io, reloadConfig, () => logWarnings(loaded.warnings));
}

/**
 * The command: the first positional argument, past the general options before it (-c FILE,
 * --config=FILE), read by the same rules as the command's own parser. Lenient: the command's
 * parser reports unknown options.
 */
function commandOf(argv: string[]): { command: string | undefined; version: boolean } {
  const { values, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    tokens: true,
    options: GENERAL_OPTIONS,
  });
  const command = tokens.find((token) => token.kind === "positional")?.value;
  return { command, version: values.version === true };
}

function configPathOf(io: CliIo): string {
  return io.env["OPENVPN_AUTH_OIDC_CONFIG"] ?? DEFAULT_CONFIG_PATH;
}

/** The loaded config, or the exit code after saying what is wrong with it. */
function loadConfig(configPath: string, io: CliIo): LoadedConfig | number {
  return orExit(() => loadConfigFile(configPath, loadDeps(io)), io);
}

/** What `load` read from the config, or the exit code after saying what is wrong with it. */
function orExit<T>(load: () => T, io: CliIo): T | number {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message + "\n");
      return EXIT_USAGE;
    }
    throw error;
  }
}

function loadDeps(io: CliIo): LoadDeps {
  return { readTextFile: io.readTextFile, env: io.env, fileMode: io.fileMode };
}

/** E.g. `/etc/x.toml: http.secret_file (line 4): File ... can be read by other users ...`. */
function warningText(configPath: string, warning: ConfigIssue): string {
  const where = placeOf(warning);
  return where === undefined
    ? `${configPath}: ${warning.message}`
    : `${configPath}: ${where}: ${warning.message}`;
}

/**
 * A config warning in the log: the file a quoted value; the key path and the message the
 * sentence's words (the checks write them, quoting the values they name: the file's own text
 * is never in them bare).
 */
export function logConfigWarning(log: Logger, file: string, warning: ConfigIssue): void {
  const where = placeOf(warning);
  const message = words(warning.message);
  if (where === undefined) log.warning("{file}: {message}", { file, message });
  else log.warning("{file}: {where}: {message}", { file, where: words(where), message });
}

/**
 * A reload reads the environment the process started with (`io.env`): systemd reads
 * `EnvironmentFile=` again for each command it runs, so after an edit there ExecReload's
 * check-config passes with the new values while this reload keeps the old ones. Each variable
 * is named with its key at every reload; never its value, which may be a secret.
 */
function warnStartEnvironment(overrides: ReadonlyMap<string, string>): void {
  const log = getLogger("reload");
  for (const [variable, key] of overrides) {
    log.warning("{variable} overrides {key}: read at start only; a change needs a restart", {
      variable,
      key,
    });
  }
}

/** `started` runs once the service is up (its logging is configured by then). */
async function runService(
  config: ResolvedConfig,
  io: CliIo,
  reloadConfig: () => ResolvedConfig,
  started: () => void,
): Promise<number> {
  // Listened for before the start, which can take seconds (store, cluster, IdP): unheard, a
  // SIGHUP would end the process, and systemd counts that as a clean exit (not restarted).
  // One that comes meanwhile reloads once the service is up: the file may have changed since
  // it was read.
  let service: RunningService | undefined;
  let reloadAfterStart = false;
  let stopping: Promise<void> | undefined;
  let reloading = Promise.resolve();
  const reload = (running: RunningService) => {
    if (stopping || !running.reload) return Promise.resolve();
    reloading = reloading.then(() => reloadService(running, reloadConfig));
    return reloading;
  };
  io.onReloadSignal?.(() => {
    if (service === undefined) {
      reloadAfterStart = true;
      return Promise.resolve();
    }
    return reload(service);
  });
  try {
    service = await io.startService(config);
  } catch (error) {
    io.err(`${NAME}: cannot start: ${(error as Error).message}\n`);
    return EXIT_RUNTIME;
  }
  started();
  const running = service;
  io.onShutdownSignal(() => {
    stopping ??= running.stop();
  });
  if (reloadAfterStart) void reload(running);
  try {
    await service.done;
    await stopping;
    return EXIT_OK;
  } catch (error) {
    io.err(`${NAME}: ${(error as Error).message}\n`);
    return EXIT_RUNTIME;
  }
}

/**
 * SIGHUP: reads and validates the config file exactly as at start (check-config's checks); a
 * config with problems is refused with each one logged, and the running one stays in force.
 */
async function reloadService(
  service: RunningService,
  reloadConfig: () => ResolvedConfig,
): Promise<void> {
  const log = getLogger("reload");
  let next: ResolvedConfig;
  try {
    next = reloadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      log.error("Reload refused, the running configuration stays in force: {error}", {
        error: String(error),
      });
      return;
    }
    log.error(
      "Reload refused, the running configuration stays in force: {file} has {count} problem(s)",
      {
        file: error.file,
        count: error.issues.length,
      },
    );
    for (const line of error.message.split("\n").slice(1)) {
      log.error("Reload refused: {problem}", { problem: line.replace(/^\s*- /, "") });
    }
    return;
  }
  try {
    await service.reload!(next);
  } catch (error) {
    log.error("Reload failed, the running configuration stays in force: {error}", {
      error: String(error),
    });
  }
}
