/**
 * A real redis-server (Debian's package; scripts/install-system-deps.sh installs it) for tests
 * and benchmarks: on a free 127.0.0.1 port, in its own temporary directory, with every
 * persistence setting given on the command line (no RDB snapshots, no AOF, no config file from
 * /etc), stopped by its pid. `stop()` and `start()` again keep the port and directory, for
 * restart tests; data does not survive a restart unless `persist` was asked for.
 */
import { freePort } from "./free_port.ts";

export interface RedisServerOptions {
  /** requirepass for the default user. */
  password?: string;
  /** Extra ACL users with every right (`user <name> on ><password> ~* &* +@all`). */
  aclUsers?: Array<{ name: string; password: string }>;
  /** Keep data across stop()/start() (an RDB snapshot written at shutdown). */
  persist?: boolean;
  /** Serve TLS instead of plain TCP, with these PEM files. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /**
   * More redis-server arguments, after the ones above (a later one overrides an earlier one of
   * the same setting): e.g. `["--appendonly", "yes"]`, `["--rename-command", "INFO", ""]`.
   */
  extraArgs?: readonly string[];
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #options: RedisServerOptions;
  #process: Deno.ChildProcess | undefined;
  /** Length of the log file when the current start began (the file is kept across restarts). */
  #logOffset = 0;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.#options = options;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
    try {
      const server = new RedisServer(await freePort(), dir, options);
      await server.start();
      return server;
    } catch (error) {
      // start() killed whatever it spawned; the caller gets no server to dispose of.
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** `redis://127.0.0.1:<port>/0`, or `rediss://...` with TLS (its certificate names 127.0.0.1). */
  get url(): string {
    return `${this.#options.tls ? "rediss" : "redis"}://127.0.0.1:${this.port}/0`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Starts the server and returns once it serves, or with `until: "loading"` once it has begun
   * loading its RDB snapshot (from `persist`): it accepts connections then and answers most
   * commands with LOADING until it is done (slowed down for a test by `--key-load-delay`).
   */
  async start({ until = "serving" }: { until?: "serving" | "loading" } = {}): Promise<void> {
    if (this.#process) throw new Error("redis-server already running");
    const options = this.#options;
    const args = [
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--daemonize",
      "no",
      "--appendonly",
      "no",
      "--save",
      options.persist ? "3600 1" : "",
      "--dbfilename",
      "dump.rdb",
      "--logfile",
      `${this.dir}/redis.log`,
      "--protected-mode",
      "no",
    ];
    if (options.tls) {
      args.push(
        "--port",
        "0",
        "--tls-port",
        String(this.port),
        "--tls-cert-file",
        options.tls.certFile,
        "--tls-key-file",
        options.tls.keyFile,
        "--tls-ca-cert-file",
        options.tls.caFile,
        "--tls-auth-clients",
        "no",
      );
    } else {
      args.push("--port", String(this.port));
    }
    if (options.password !== undefined) args.push("--requirepass", options.password);
    args.push(...options.extraArgs ?? []);
    for (const user of options.aclUsers ?? []) {
      args.push("--user", user.name, "on", `>${user.password}`, "~*", "&*", "+@all");
    }
    const child = new Deno.Command("redis-server", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    this.#process = child;
    try {
      await this.#waitForLog(
        until === "loading" ? /Loading RDB produced by/ : /Ready to accept connections/,
      );
    } catch (error) {
      // Not serving (timed out, or exited): no failed start leaves a redis-server behind.
      this.#killNow();
      await child.status;
      throw error;
    }
  }

  /** SIGTERM by pid and wait for the exit (with `persist`, after the snapshot is written). */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    if (this.#process) Deno.kill(this.#process.pid, "SIGSTOP");
  }

  resume(): void {
    if (this.#process) Deno.kill(this.#process.pid, "SIGCONT");
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    this.resume();
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /**
   * Kills the server (SIGKILL, even when paused) and removes its directory, awaiting
   * nothing: for an `unload` handler, which cannot wait for a promise. A killed server writes
   * nothing more to its directory.
   */
  disposeNow(): void {
    this.#killNow();
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // Already removed.
    }
  }

  /**
   * SIGKILL to this child, without waiting for the exit. ChildProcess.kill() signals nothing
   * once the child has been reaped, so a reused pid is never hit.
   */
  #killNow(): void {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }

  /** Waits for the line the server logs once it serves, written since this start. */
  async #waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const logFile = `${this.dir}/redis.log`;
    const from = this.#logOffset;
    while (Date.now() < deadline) {
      const text = await Deno.readTextFile(logFile).catch(() => "");
      if (pattern.test(text.slice(from))) {
        this.#logOffset = text.length;
        return;
      }
      const status = await Promise.race([
        this.#process!.status,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
      ]);
      if (status) throw new Error(`redis-server exited (${status.code}): see ${logFile}`);
    }
    throw new Error(`redis-server did not start within ${timeoutMs} ms: see ${logFile}`);
  }
}
