/** Running short commands and supervising long-lived child processes by pid. */

import { withTimeout } from "./wait.ts";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; throws with its stderr unless `allowFailure` is set. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { allowFailure?: boolean; cwd?: string } = {},
): Promise<CommandResult> {
  const output = await new Deno.Command(cmd, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).output();
  const decoder = new TextDecoder();
  const result = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(
      `Command failed with exit code ${result.code}: ${
        [cmd, ...args].join(" ")
      }: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/**
 * A long-lived child (openvpn) whose stdout and stderr are collected in memory, because errors
 * before openvpn opens its log file (a bad config line) only appear there.
 */
export class ChildProcess {
  readonly pid: number;
  readonly label: string;
  /** Resolves with the exit code once the process is gone and its output is drained. */
  readonly exited: Promise<number>;
  #output = "";
  #exitCode: number | undefined;
  readonly #child: Deno.ChildProcess;

  constructor(label: string, cmd: string, args: readonly string[]) {
    this.label = label;
    this.#child = new Deno.Command(cmd, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    const drained = Promise.all([
      this.#drain(this.#child.stdout),
      this.#drain(this.#child.stderr),
    ]);
    this.exited = Promise.all([this.#child.status, drained]).then(([status]) => {
      this.#exitCode = status.code;
      return status.code;
    });
  }

  /** Exit code, or undefined while running. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves with the exit code. */
  async stop(graceMs = 5000): Promise<number> {
    if (!this.running) return await this.exited;
    this.#signal("SIGTERM");
    try {
      return await withTimeout(`${this.label} (pid ${this.pid}) to exit`, this.exited, graceMs);
    } catch {
      this.#signal("SIGKILL");
      return await this.exited;
    }
  }

  /** SIGKILL at once (for teardown, where nobody waits for a clean goodbye). */
  async kill(): Promise<number> {
    if (this.running) this.#signal("SIGKILL");
    return await this.exited;
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited between the check and the kill: nothing to do.
    }
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) this.#output += decoder.decode(chunk, { stream: true });
  }
}
